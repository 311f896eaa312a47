/**
 * The web page as a web handler: `/` of its mount answers the page, `/web/*` its scripts and
 * styles, read once from the package's `page` folder. Plain ES modules and CSS, so nothing is
 * built and nothing comes from a CDN. Every other request is passed on (`undefined`).
 *
 * @since 0.1.0
 */
import { readdirSync, readFileSync } from "node:fs"
import { extname } from "node:path"

/** Where the page finds the API. */
export interface WebPageOptions {
  /**
   * The path the API is mounted at on the same origin, e.g. `/api`. Unset: where the page is
   * mounted, as when both are routed at `/`.
   */
  readonly apiBasePath?: string | undefined
}

/** Where the page is mounted, as the adapters pass it. */
export interface WebPageMount {
  /** The path prefix the page is mounted under, e.g. `/demo`; the default is the root. */
  readonly basePath?: string | undefined
}

/** Answers a request for the page or one of its files, or `undefined` for any other request. */
export type WebPageHandler = (request: Request, mount?: WebPageMount) => Response | undefined

const pageDir = new URL("../page/", import.meta.url)

const contentTypes: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8"
}

// The page runs only its own files; the key it keeps is safe from injected scripts. Screenshots
// and videos may come from elsewhere: face_image URLs carry IDENTIFY_FACE_PUBLIC_URL's origin,
// and a pasted video_url plays from where it is.
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' http: https:",
  "media-src 'self' blob: http: https:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const commonHeaders = {
  // Small files: revalidate every time, so an upgraded page is never mixed with old scripts.
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
}

/** The page's files other than the HTML, by the path they are served at. */
const readAssets = (): ReadonlyMap<string, { readonly body: string; readonly contentType: string }> =>
  new Map(
    readdirSync(pageDir).flatMap((name) => {
      const contentType = contentTypes[extname(name)]
      return contentType === undefined ? [] : [[`/web/${name}`, { body: readFileSync(new URL(name, pageDir), "utf8"), contentType }] as const]
    })
  )

const escapeAttribute = (value: string) =>
  value.replace(/[&"<>]/g, (char) => ({ "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" })[char] ?? char)

const normaliseBase = (basePath: string | undefined) => (basePath ?? "").replace(/\/+$/, "")

/**
 * The page's handler: `webPage()` where the API is mounted beside it, `webPage({ apiBasePath: "/api" })`
 * where it is not. The files are read here, once; a missing one throws at start-up.
 */
export const webPage = (options: WebPageOptions = {}): WebPageHandler => {
  const html = readFileSync(new URL("index.html", pageDir), "utf8")
  const assets = readAssets()

  const answer = (request: Request, body: string, headers: Record<string, string>) =>
    new Response(request.method === "HEAD" ? null : body, { status: 200, headers: { ...commonHeaders, ...headers } })

  return (request, mount = {}) => {
    if (request.method !== "GET" && request.method !== "HEAD") return undefined
    const url = new URL(request.url)
    const base = normaliseBase(mount.basePath)
    if (!url.pathname.startsWith(base)) return undefined
    const path = url.pathname.slice(base.length)
    // The page's scripts are linked relative to it, so it is served at a path ending in "/".
    if (path === "") return Response.redirect(new URL(`${url.pathname}/${url.search}`, url), 308)
    if (path === "/") {
      const apiBase = options.apiBasePath === undefined ? base : normaliseBase(options.apiBasePath)
      return answer(request, html.replace("{{apiBase}}", escapeAttribute(apiBase)), { "content-type": "text/html; charset=utf-8", "content-security-policy": contentSecurityPolicy })
    }
    const asset = assets.get(path)
    return asset === undefined ? undefined : answer(request, asset.body, { "content-type": asset.contentType })
  }
}
