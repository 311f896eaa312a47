/**
 * The identify-face API as Express 5 middleware, mountable at the root or under a prefix.
 *
 * @since 0.1.0
 */
import { BodyAlreadyReadError, mount } from "@identify-face/core/Adapter"
import type { AdapterOptions } from "@identify-face/core/Adapter"
import { ownsPath } from "@identify-face/core/HttpApi"
import { serve } from "@identify-face/core/NodeHttp"
import type { NextFunction, Request, RequestHandler, Response } from "express"

const ADAPTER = "@identify-face/express"

/** What the middleware serves: `{ layer }` (built and released here) or `{ handler }` (yours). */
export type IdentifyFaceOptions = AdapterOptions

/** The middleware, and how to release the API it built. */
export interface IdentifyFaceMiddleware extends RequestHandler {
  /** Disposes the API built from `layer`: running tasks go back to pending. */
  readonly close: () => Promise<void>
}

/**
 * The API as middleware: `app.use("/", identifyFace({ layer }))` or `app.use("/api", ...)`.
 * It answers `/healthz`, `/openapi.json` and everything under `/model/v1/` below its mount, and
 * passes every other path on to the app's next handlers. Mount it before any body parser: it
 * streams request bodies itself, and refuses (with `next(error)`) a body another middleware read.
 * Options are checked here and a wrong one throws.
 */
export const identifyFace = (options: IdentifyFaceOptions): IdentifyFaceMiddleware => {
  const { handler, close } = mount(ADAPTER, options)
  const middleware = (req: Request, res: Response, next: NextFunction) => {
    const url = `${req.protocol}://${req.host ?? "localhost"}${req.originalUrl}`
    const basePath = req.baseUrl
    if (!ownsPath(new URL(url).pathname, { basePath })) return next()
    if (req.readableDidRead) return next(new BodyAlreadyReadError(ADAPTER))
    serve(req, res, url, (request) => handler.handle(request, { basePath })).catch(next)
  }
  return Object.assign(middleware, { close })
}
