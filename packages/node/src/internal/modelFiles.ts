/**
 * Reading TensorFlow.js graph models from disk: tfjs on WASM has no file:// loader (Node's fetch
 * refuses file URLs), and the models ship inside node_modules.
 */
import { readFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import type { io } from "@tensorflow/tfjs-core"

/** Reads a `model.json` and its weight files into artifacts that `tf.io.fromMemory` or a load router can hand to tfjs. */
export const readModelArtifacts = async (tfIo: typeof io, path: string): Promise<io.ModelArtifacts> => {
  const json = JSON.parse(await readFile(path, "utf8")) as io.ModelJSON
  return tfIo.getModelArtifactsForJSON(json, async (manifest: io.WeightsManifestConfig) => {
    const files = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => readFile(join(dirname(path), p)))))
    const weights = Buffer.concat(files)
    return [manifest.flatMap((group) => group.weights), weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length)]
  })
}
