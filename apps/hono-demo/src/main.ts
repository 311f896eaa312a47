/**
 * The identify-face demo server on Hono: the embedded default (SQLite and files under
 * IDENTIFY_FACE_DATA_DIR, the real analysis). `IDENTIFY_FACE_ANALYZER=double` runs the test double
 * instead, for trying the API without video.
 */
import { serve } from "@hono/node-server"
import { Server } from "@identify-face/core"
import { identifyFace } from "@identify-face/hono"
import { NodeServer } from "@identify-face/node"
import { TestAnalyzer } from "@identify-face/testing"
import { webApp } from "@identify-face/web/Hono"
import { Hono } from "hono"

const settings = NodeServer.settingsFromEnv(process.env)
const double = process.env.IDENTIFY_FACE_ANALYZER === "double"
// IDENTIFY_FACE_ANALYZER_DELAY_MS: how long the double takes a task (default 50), e.g. to stop a server mid-task; checked at start.
const delayMs = NodeServer.wholeNumberFromEnv(process.env, "IDENTIFY_FACE_ANALYZER_DELAY_MS") ?? 50
const analyzer = TestAnalyzer.layer({ script: { delay: `${delayMs} millis` } })
// Built before listening: a wrong setting stops the start, and the tasks a previous run left resume at once.
const handler = await Server.makeWebHandlerReady(NodeServer.layer({ ...settings, ...(double ? { analyzer } : {}) }))
const api = identifyFace({ handler })
const app = new Hono()
app.route("/", api)
app.route("/", webApp())

const port = Number(process.env.PORT ?? 3000)
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? "127.0.0.1" }, (info) => {
  const url = `http://${info.family === "IPv6" ? `[${info.address}]` : info.address}:${info.port}`
  const runs = double ? "the TEST DOUBLE: scripted faces, no real analysis" : "the real analysis"
  console.log(NodeServer.banner({ url, settings, runs }))
  console.log(`\nThe web page: ${url}/`)
})

NodeServer.stopOnSignals({ server, close: handler.dispose, timeout: settings.shutdownTimeout })
