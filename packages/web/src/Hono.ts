/**
 * The web page as a Hono app: `app.route("/", webApp())` beside the API.
 *
 * @since 0.1.0
 */
import { Hono } from "hono"
import { basePath } from "hono/route"
import { webPage } from "./WebPage.js"
import type { WebPageOptions } from "./WebPage.js"

/** The page and its files below where the app is routed; every other path goes on to the routes after it. */
export const webApp = (options: WebPageOptions = {}): Hono => {
  const page = webPage(options)
  const app = new Hono()
  app.use("*", async (c, next) => page(c.req.raw, { basePath: basePath(c) }) ?? next())
  return app
}
