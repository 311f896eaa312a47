/**
 * The identify-face demo server on Hono: the embedded default (SQLite and files under
 * IDENTIFY_FACE_DATA_DIR, the real analysis). `IDENTIFY_FACE_ANALYZER=double` runs the test double
 * instead, for trying the API without video.
 */
import { serve } from "@hono/node-server"
import { identifyFace } from "@identify-face/hono"
import { NodeServer } from "@identify-face/node"
import { TestAnalyzer } from "@identify-face/testing"
import { Hono } from "hono"

const settings = NodeServer.settingsFromEnv(process.env)
const double = process.env.IDENTIFY_FACE_ANALYZER === "double"
const api = identifyFace({
  layer: NodeServer.layer({ ...settings, ...(double ? { analyzer: TestAnalyzer.layer() } : {}) })
})
const app = new Hono()
app.route("/", api)

const port = Number(process.env.PORT ?? 3000)
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? "127.0.0.1" }, (info) => {
  const url = `http://${info.family === "IPv6" ? `[${info.address}]` : info.address}:${info.port}`
  const runs = double ? "the TEST DOUBLE: scripted faces, no real analysis" : "the real analysis"
  console.log(NodeServer.banner({ url, settings, runs }))
})

const stop = () => {
  server.close()
  void api.close().then(() => process.exit(0))
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
