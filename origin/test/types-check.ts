// Compiled by `npm run typecheck` (never run): the public types are usable
// as the README shows them.
import {
  AssertionError, honoMiddleware, nodeMiddleware, verifyAssertion, withIdentity,
} from '../src/index.js';
import type { AssertionErrorCode, Identity, VerifyOptions } from '../src/index.js';

const options: VerifyOptions = { jwksUrl: 'https://a.example/auth/.well-known/jwks.json', issuer: 'https://a.example', audience: 'https://o.example' };

export async function fetchStyle(request: Request): Promise<string> {
  try {
    const who: Identity = await verifyAssertion(request, options);
    const roles: string[] = who.roles;
    const at: number = who.authTime;
    return `${who.userId} ${who.sessionId} ${roles.join()} ${at} ${who.claims.sid}`;
  } catch (e) {
    if (e instanceof AssertionError) {
      const code: AssertionErrorCode = e.code;
      const status: 401 | 503 = e.status;
      return `${code} ${status}`;
    }
    throw e;
  }
}

type NodeReq = { headers: Record<string, string | string[] | undefined>; identity?: Identity };
type NodeRes = { statusCode: number; setHeader(n: string, v: string): void; end(b?: string): void };
export const mw: (req: NodeReq, res: NodeRes, next: (e?: unknown) => void) => void = nodeMiddleware<NodeReq, NodeRes>(options);
export const handler: (req: Request, env: { X: string }) => Promise<Response> = withIdentity(options, (req, who, env: { X: string }) => new Response(`${who.userId} ${env.X} ${req.url}`));
export const hono = honoMiddleware(options);
// @ts-expect-error: issuer and audience are required
verifyAssertion(new Request('https://o.example/'), { jwksUrl: 'https://a.example/jwks' });
