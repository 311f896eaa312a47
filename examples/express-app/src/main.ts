/**
 * `npm start`: the app on http://127.0.0.1:3000, with the embedded identify-face server (SQLite
 * and files under IDENTIFY_FACE_DATA_DIR, the real analysis; see `NodeServer.settingsFromEnv`).
 */
import { NodeServer } from "@identify-face/node"
import { makeApp } from "./app.js"

const settings = NodeServer.settingsFromEnv(process.env)
const { app, close } = makeApp(NodeServer.layer(settings))
const port = Number(process.env.PORT ?? 3000)
const server = app.listen(port, "127.0.0.1", () => {
  console.log(NodeServer.banner({ url: `http://127.0.0.1:${port}/api`, settings, runs: "the real analysis" }))
})
process.once("SIGTERM", () => server.close(() => void close()))
