/**
 * The web page as Express 5 middleware: `app.use("/", webMiddleware())` beside the API.
 *
 * @since 0.1.0
 */
import { writeResponse } from "@identify-face/core/NodeHttp"
import type { NextFunction, Request, RequestHandler, Response } from "express"
import { webPage } from "./WebPage.js"
import type { WebPageOptions } from "./WebPage.js"

/** The page and its files below the middleware's mount; every other request goes on to `next()`. */
export const webMiddleware = (options: WebPageOptions = {}): RequestHandler => {
  const page = webPage(options)
  return (req: Request, res: Response, next: NextFunction) => {
    // The page's requests have no body, so only the method and the URL are handed over.
    const url = `${req.protocol}://${req.host ?? "localhost"}${req.originalUrl}`
    const answer = page(new Request(url, { method: req.method }), { basePath: req.baseUrl })
    if (answer === undefined) return next()
    writeResponse(answer, res).catch(next)
  }
}
