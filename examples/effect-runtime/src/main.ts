/**
 * `npm start -- clip.mp4`: the real analysis (ffmpeg and the face detector) of one clip, in this
 * process.
 */
import { readFile } from "node:fs/promises"
import { NodeFaceAnalyzer } from "@identify-face/node"
import { Effect } from "effect"
import { describeFaces, inProcessClient, makeRuntime } from "./faces.js"

const path = process.argv[2]
if (path === undefined) throw new Error("usage: npm start -- <clip.mp4>")

const runtime = makeRuntime(NodeFaceAnalyzer.layer())
const clip = new Blob([await readFile(path)])
const lines = await Effect.runPromise(describeFaces(clip).pipe(Effect.provide(inProcessClient(runtime))))
console.log(lines.length === 0 ? "no face to lip-sync" : lines.join("\n"))
await runtime.dispose()
