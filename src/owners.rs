//! `strong` mode's transport: an owner call is a `POST` to the user's
//! Durable Object (`USER_SESSIONS`, addressed by name), its reply the body.

use session_core::owner::{OwnerTransport, TransportFuture};
use session_core::StoreError;
use wasm_bindgen::JsValue;
use worker::{ObjectNamespace, Request};

/// The `USER_SESSIONS` namespace.
pub struct DurableOwners {
    namespace: ObjectNamespace,
}

impl DurableOwners {
    pub fn new(namespace: ObjectNamespace) -> Self {
        Self { namespace }
    }

    async fn send(&self, owner: &str, body: String) -> worker::Result<String> {
        let stub = self.namespace.id_from_name(owner)?.get_stub()?;
        // web_sys's RequestInit, not worker's: converting worker's brings its
        // `cf` properties' serializers into the wasm (about 9 KB) for nothing.
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_redirect(web_sys::RequestRedirect::Follow);
        init.set_body(&JsValue::from_str(&body));
        let request =
            web_sys::Request::new_with_str_and_init("https://owner.internal/call", &init)?;
        let mut response = stub.fetch_with_request(Request::from(request)).await?;
        if response.status_code() != 200 {
            return Err(worker::Error::RustError(format!(
                "owner answered {}",
                response.status_code()
            )));
        }
        response.text().await
    }
}

impl OwnerTransport for DurableOwners {
    fn call<'a>(&'a self, owner: &'a str, body: String) -> TransportFuture<'a> {
        Box::pin(async move {
            self.send(owner, body)
                .await
                .map_err(|e| StoreError::Unavailable(format!("session owner: {e}")))
        })
    }
}
