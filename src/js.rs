//! The few runtime calls of the hot path, written in JS so that each is one
//! crossing of the wasm boundary instead of one per header: reading a
//! request's head, forwarding it with `fetch`, and finishing the origin's
//! response (passed through untouched when nothing in it must change).
//!
//! Header lists cross as one string, `name\nvalue\n…`: names and values never
//! hold a line break (the runtime refuses them). Values are ByteStrings (one
//! char per byte), so non-ASCII bytes survive.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function headerLines(headers) {
  let out = '';
  for (const [name, value] of headers) out += name + '\n' + value + '\n';
  return out;
}

export function requestLines(request) {
  const cf = request.cf;
  let country = cf !== null && typeof cf === 'object' ? cf.country : undefined;
  if (typeof country !== 'string' || country.includes('\n')) country = '';
  return request.method + '\n' + request.url + '\n' + country + '\n' + headerLines(request.headers);
}

function toHeaders(lines) {
  const headers = new Headers();
  const parts = lines.split('\n');
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  return headers;
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function forward(request, url, remove, add, rebuild) {
  const names = remove.split('\n');
  let headers;
  if (rebuild) {
    const drop = new Set(names);
    headers = new Headers();
    for (const [name, value] of request.headers) {
      if (token.test(name) && !drop.has(name)) headers.append(name, value);
    }
  } else {
    headers = new Headers(request.headers);
    for (let i = 0; i + 1 < names.length; i++) headers.delete(names[i]);
  }
  const pairs = add.split('\n');
  for (let i = 0; i + 1 < pairs.length; i += 2) headers.append(pairs[i], pairs[i + 1]);
  const init = { method: request.method, headers, redirect: 'manual' };
  if (request.body !== null) init.body = request.body;
  return fetch(url, init);
}

const handoff = /^x[-_]session[-_](issue|revoke)$/i;

export function handoffLines(response) {
  // Names only: most responses have no handoff header, so no value is read.
  let out = '';
  const headers = response.headers;
  for (const name of headers.keys()) {
    if (handoff.test(name)) out += name + '\n' + headers.get(name) + '\n';
  }
  return out;
}

export function makeResponse(status, lines, body) {
  const init = { status, headers: toHeaders(lines) };
  return new Response(body, init);
}

export function responseHeader(response, name) {
  return response.headers.get(name) ?? undefined;
}

export function finishResponse(response, remove, cookies, cacheControl) {
  if (remove.length === 0 && cookies.length === 0 && cacheControl === undefined) return response;
  const headers = new Headers(response.headers);
  for (const name of remove) headers.delete(name);
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  if (cacheControl !== undefined) headers.set('cache-control', cacheControl);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
"#)]
extern "C" {
    /// Every header of a `Headers` object, as `name\nvalue\n…`.
    #[wasm_bindgen(js_name = headerLines)]
    pub fn header_lines(headers: &JsValue) -> String;

    /// A request's head in one crossing: `method\nurl\ncountry\n` (the
    /// country of `request.cf`, empty when there is none) then its headers
    /// as [`header_lines`] gives them.
    #[wasm_bindgen(js_name = requestLines)]
    pub fn request_lines(request: &JsValue) -> String;

    /// `fetch(url, {method, headers, body, redirect: "manual"})` with the
    /// request's own method and body stream, and as headers a copy of the
    /// request's with every name of `remove` (`name\n…`) deleted, then the
    /// pairs of `add` (`name\nvalue\n…`) appended. With `rebuild`, the copy
    /// is made in one pass leaving out those names and every name that is
    /// not a token ([`session_http::guard::HeaderPlan::rebuild`]).
    #[wasm_bindgen(catch)]
    pub fn forward(
        request: &JsValue,
        url: &str,
        remove: &str,
        add: &str,
        rebuild: bool,
    ) -> Result<Promise, JsValue>;

    /// The handoff headers of a response, in any spelling, as `name\nvalue\n…`.
    #[wasm_bindgen(js_name = handoffLines)]
    pub fn handoff_lines(response: &JsValue) -> String;

    /// `new Response(body, {status, headers})`, `lines` as the headers.
    #[wasm_bindgen(js_name = makeResponse, catch)]
    pub fn make_response(
        status: u16,
        lines: &str,
        body: Option<js_sys::Uint8Array>,
    ) -> Result<web_sys::Response, JsValue>;

    /// One header of a response (lines joined with `, `), `None` when absent.
    #[wasm_bindgen(js_name = responseHeader)]
    pub fn response_header(response: &JsValue, name: &str) -> Option<String>;

    /// The response with `remove` headers deleted, `cookies` appended as
    /// `Set-Cookie` and `Cache-Control` set to `cache_control` when given:
    /// itself, untouched, when there is nothing to change.
    #[wasm_bindgen(js_name = finishResponse, catch)]
    pub fn finish_response(
        response: &JsValue,
        remove: &Array,
        cookies: &Array,
        cache_control: Option<String>,
    ) -> Result<web_sys::Response, JsValue>;
}

/// `name\nvalue\n…` as (name, value) pairs.
pub fn pairs(lines: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut parts = lines.split('\n');
    std::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
}

/// (name, value) pairs as `name\nvalue\n…`, dropping any holding a line break.
pub fn lines<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !name.contains('\n') && !value.contains('\n') {
            out.push_str(name);
            out.push('\n');
            out.push_str(value);
            out.push('\n');
        }
    }
    out
}
