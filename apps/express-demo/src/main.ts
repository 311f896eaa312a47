/**
 * The identify-face demo server on Express: the embedded default (SQLite and files under
 * IDENTIFY_FACE_DATA_DIR, the real analysis). `IDENTIFY_FACE_ANALYZER=double` runs the test double
 * instead, for trying the API without video.
 */
import { identifyFace } from "@identify-face/express"
import { NodeServer } from "@identify-face/node"
import { TestAnalyzer } from "@identify-face/testing"
import express from "express"

const settings = NodeServer.settingsFromEnv(process.env)
const double = process.env.IDENTIFY_FACE_ANALYZER === "double"
const api = identifyFace({
  layer: NodeServer.layer({ ...settings, ...(double ? { analyzer: TestAnalyzer.layer() } : {}) })
})
const app = express()
app.disable("x-powered-by")
app.use("/", api)

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? "127.0.0.1"
const server = app.listen(port, host, () => {
  const address = server.address()
  const url = typeof address === "object" && address !== null ? `http://${host}:${address.port}` : `http://${host}:${port}`
  const runs = double ? "the TEST DOUBLE: scripted faces, no real analysis" : "the real analysis"
  console.log(NodeServer.banner({ url, settings, runs }))
})

const stop = () => {
  server.close()
  void api.close().then(() => process.exit(0))
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
