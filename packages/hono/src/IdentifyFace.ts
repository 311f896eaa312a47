/**
 * The identify-face API as a Hono app, to mount with `app.route()` at the root or under a prefix.
 *
 * @since 0.1.0
 */
import { BodyAlreadyReadError, mount } from "@identify-face/core/Adapter"
import type { AdapterOptions } from "@identify-face/core/Adapter"
import { ownsPath } from "@identify-face/core/HttpApi"
import { handleIncoming } from "@identify-face/core/NodeHttp"
import type { IncomingMessageLike } from "@identify-face/core/NodeHttp"
import { Hono } from "hono"
import { basePath } from "hono/route"

const ADAPTER = "@identify-face/hono"

/** What `@hono/node-server` passes as `c.env`. */
interface NodeServerBindings {
  readonly incoming?: IncomingMessageLike & { readonly readableDidRead: boolean }
}

/** What the app serves: `{ layer }` (built and released here) or `{ handler }` (yours). */
export type IdentifyFaceOptions = AdapterOptions

/** The app, and how to release the API it built. */
export interface IdentifyFaceApp extends Hono {
  /** Disposes the API built from `layer`: running tasks go back to pending. */
  readonly close: () => Promise<void>
}

/**
 * The API as a Hono app: `app.route("/", identifyFace({ layer }))` or `app.route("/api", ...)`.
 * It answers `/healthz`, `/openapi.json` and everything under `/model/v1/` below where it is
 * mounted, and passes every other path on to the routes after it. It reads request bodies itself,
 * so a middleware before it must not consume them. Options are checked here and a wrong one
 * throws.
 */
export const identifyFace = (options: IdentifyFaceOptions): IdentifyFaceApp => {
  const { handler, close } = mount(ADAPTER, options)
  const app = new Hono()
  app.use("*", (c, next) => {
    const mountPath = basePath(c)
    if (!ownsPath(new URL(c.req.url).pathname, { basePath: mountPath })) return next()
    const handle = (request: Request) => handler.handle(request, { basePath: mountPath })
    // On @hono/node-server the Node request is read directly: its web body, cancelled at a
    // refusal (413), would stall the connection before the answer reaches a client still sending.
    const incoming = (c.env as NodeServerBindings | undefined)?.incoming
    if (incoming !== undefined) {
      if (incoming.readableDidRead) throw new BodyAlreadyReadError(ADAPTER)
      return handleIncoming(incoming, c.req.url, handle)
    }
    if (c.req.raw.bodyUsed) throw new BodyAlreadyReadError(ADAPTER)
    return handle(c.req.raw)
  })
  return Object.assign(app, { close })
}
