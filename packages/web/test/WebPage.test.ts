/**
 * Serving the page: the handler, mounted at the root and under a prefix, and its Hono and Express
 * bridges beside other routes; and a plain-words reason for every code of the wire contract.
 */
import type { AddressInfo } from "node:net"
import { codes } from "@identify-face/core/Errors"
import express from "express"
import { Hono } from "hono"
import { describe, expect, it } from "vitest"
import { reasonFor } from "../page/reasons.js"
import { webMiddleware } from "../src/Express.js"
import { webApp } from "../src/Hono.js"
import { webPage } from "../src/WebPage.js"

const get = (url: string, method = "GET") => new Request(`http://localhost${url}`, { method })

const apiBaseOf = (html: string) => /<meta name="identify-face-api" content="([^"]*)">/.exec(html)?.[1]

describe("webPage", () => {
  const page = webPage()

  it("answers the page at / with a strict content security policy", async () => {
    const response = page(get("/"))
    expect(response?.status).toBe(200)
    expect(response?.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(response?.headers.get("content-security-policy")).toContain("script-src 'self'")
    const html = (await response?.text()) ?? ""
    expect(html).toContain('<script type="module" src="web/main.js">')
    expect(apiBaseOf(html)).toBe("")
  })

  it("answers its scripts and styles, and passes every other request on", async () => {
    const script = page(get("/web/main.js"))
    expect(script?.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(await script?.text()).toContain("sessionStorage")
    expect(page(get("/web/style.css"))?.headers.get("content-type")).toBe("text/css; charset=utf-8")
    expect(page(get("/web/index.html"))).toBeUndefined()
    expect(page(get("/web/missing.js"))).toBeUndefined()
    expect(page(get("/model/v1/videos"))).toBeUndefined()
    expect(page(get("/", "POST"))).toBeUndefined()
  })

  it("answers HEAD with the headers only", async () => {
    const response = page(get("/web/main.js", "HEAD"))
    expect(response?.status).toBe(200)
    expect(await response?.text()).toBe("")
  })

  it("under a mount, redirects to the mount's slash and points the page at the API there", async () => {
    const redirect = page(get("/demo?x=1"), { basePath: "/demo/" })
    expect(redirect?.status).toBe(308)
    expect(redirect?.headers.get("location")).toBe("http://localhost/demo/?x=1")
    expect(apiBaseOf((await page(get("/demo/"), { basePath: "/demo" })?.text()) ?? "")).toBe("/demo")
    expect(page(get("/demo/web/api.js"), { basePath: "/demo" })?.status).toBe(200)
    expect(page(get("/web/api.js"), { basePath: "/demo" })).toBeUndefined()
  })

  it("points the page at apiBasePath, escaped", async () => {
    expect(apiBaseOf((await webPage({ apiBasePath: "/api/" })(get("/"))?.text()) ?? "")).toBe("/api")
    expect(apiBaseOf((await webPage({ apiBasePath: '/a"b' })(get("/"))?.text()) ?? "")).toBe("/a&quot;b")
  })
})

describe("webApp (Hono)", () => {
  it("serves the page beside the app's own routes, at the root or under a prefix", async () => {
    const app = new Hono()
    app.route("/", webApp())
    app.route("/demo", webApp())
    app.get("/hello", (c) => c.text("hello"))
    expect((await app.request("/")).headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(apiBaseOf(await (await app.request("/demo/")).text())).toBe("/demo")
    expect((await app.request("/demo/web/main.js")).status).toBe(200)
    expect(await (await app.request("/hello")).text()).toBe("hello")
  })
})

describe("webMiddleware (Express)", () => {
  it("serves the page beside the app's own routes", async () => {
    const app = express()
    app.use("/demo", webMiddleware())
    app.get("/demo/hello", (_req, res) => void res.send("hello"))
    const server = app.listen(0, "127.0.0.1")
    await new Promise((resolve) => server.once("listening", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const html = await fetch(`${base}/demo/`)
      expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(apiBaseOf(await html.text())).toBe("/demo")
      expect((await fetch(`${base}/demo/web/style.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8")
      expect(await (await fetch(`${base}/demo/hello`)).text()).toBe("hello")
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe("reasonFor", () => {
  it("says every code of the wire contract in its own words", () => {
    const unknown = reasonFor("no such code")
    for (const code of codes) expect(reasonFor(code), code).not.toBe(unknown)
    expect(reasonFor("constructor")).toBe(unknown)
    expect(reasonFor("014002113")).toMatch(/^The video must be 720p or 1080p/)
  })
})
