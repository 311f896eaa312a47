/**
 * A kept task as the wire shows it: the task object of API.md, with the result as a JSON string
 * in `output[0].content[0].text`.
 *
 * @since 0.1.0
 */
import type { FileKey } from "./Ids.js"
import type { Task } from "./Task.js"
import type { FaceResult, TaskObject } from "./Wire.js"

/** Turns a screenshot key into the absolute URL it is served at. */
export type FileUrl = (key: FileKey) => string

/** The screenshot URLs of an API served at `base` (an origin and mount path, e.g. `https://api.example.com/identify`). */
export const fileUrlAt = (base: string): FileUrl => {
  const prefix = base.replace(/\/+$/, "")
  return (key) => `${prefix}/model/v1/files/${key}`
}

const seconds = (ms: number) => Math.floor(ms / 1000)

/** The result object of a completed task. */
export const toFaceResult = (task: Extract<Task, { _tag: "completed" }>, fileUrl: FileUrl): FaceResult => ({
  code: 0,
  message: "SUCCEED",
  request_id: task.requestId,
  data: {
    session_id: task.sessionId,
    final_unit_deduction: task.result.unitDeduction,
    face_data: task.result.faces.map((face) => ({
      face_id: face.faceId,
      face_image: fileUrl(face.imageKey as FileKey),
      start_time: face.startMs,
      end_time: face.endMs
    }))
  }
})

/** The wire task object. `output` and `usage` only when completed, `error` only when failed, `progress` only while processing. */
export const toTaskObject = (task: Task, fileUrl: FileUrl): TaskObject => {
  const metadata =
    task.metadata === undefined && task.timings === undefined
      ? {}
      : {
          metadata: {
            ...(task.metadata === undefined ? {} : { video: task.metadata }),
            ...(task.timings === undefined ? {} : { timings_ms: task.timings })
          }
        }
  const common = {
    id: task.id,
    model: task.model,
    status: task._tag,
    created_at: seconds(task.createdAt),
    updated_at: seconds(task.updatedAt)
  }
  switch (task._tag) {
    case "processing":
      return { ...common, progress: Math.round(task.progress * 1000) / 1000, ...metadata }
    case "completed":
      return {
        ...common,
        output: [{ content: [{ type: "text", text: JSON.stringify(toFaceResult(task, fileUrl)), url: "" }] }],
        usage: task.result.usage,
        ...metadata
      }
    case "failed":
      return { ...common, error: task.error, ...metadata }
    default:
      return { ...common, ...metadata }
  }
}
