/**
 * What the command prints: a progress bar on stderr, the faces as a table, a refusal in words.
 */
import type { FaceResult, TaskObject } from "@identify-face/core/Wire"

/** `m:ss.mmm` of milliseconds. */
export const clock = (ms: number): string => {
  const minutes = Math.floor(ms / 60_000)
  const seconds = ((ms % 60_000) / 1000).toFixed(3).padStart(6, "0")
  return `${minutes}:${seconds}`
}

const BAR_WIDTH = 30

/** One line of progress: `[#########.....................]  30% processing`. */
export const progressLine = (task: Pick<TaskObject, "status" | "progress">): string => {
  const fraction = Math.min(1, Math.max(0, task.progress ?? 0))
  const filled = Math.round(fraction * BAR_WIDTH)
  return `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${task.status}`
}

/** The faces as an aligned table, or a sentence when there is none. */
export const table = (result: FaceResult): string => {
  const faces = result.data.face_data
  if (faces.length === 0) return "No face usable for lip-sync was found."
  const rows = [
    ["face", "start", "end", "length", "screenshot"],
    ...faces.map((face) => [face.face_id, clock(face.start_time), clock(face.end_time), clock(face.end_time - face.start_time), face.face_image])
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const lines = rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  "))
  return `${lines.join("\n")}\n\n${faces.length} face${faces.length === 1 ? "" : "s"}, session ${result.data.session_id}`
}
