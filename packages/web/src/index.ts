/**
 * The identify-face web page, to serve beside the API: `webPage()` for any server of web
 * `Request`s, `webApp()` from `@identify-face/web/Hono` and `webMiddleware()` from
 * `@identify-face/web/Express`.
 *
 * @since 0.1.0
 */
export { webPage } from "./WebPage.js"
export type { WebPageHandler, WebPageMount, WebPageOptions } from "./WebPage.js"
