/**
 * The wire contract of API.md as Schemas: one source for the server, the client and the OpenAPI
 * document.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ErrorObject } from "./Errors.js"

/** The only model this service runs. */
export const MODEL = "kirin_identify_face"

const VideoRefFields = {
  video_id: Schema.optionalWith(Schema.String, { exact: true }).annotations({ description: "An uploaded video's id (from POST /model/v1/videos)" }),
  video_url: Schema.optionalWith(Schema.String, { exact: true }).annotations({ description: "An http(s) URL the server fetches the video from" })
}

/**
 * The body of `POST /model/v1/generation`, flat or in the gateway's `input: [{ params }]` form.
 * Fields it does not name are ignored; the named ones must have their types.
 */
export const CreateTaskBody = Schema.Struct({
  model: Schema.String.annotations({ description: `The model: ${MODEL}` }),
  ...VideoRefFields,
  input: Schema.optional(
    Schema.Array(Schema.Struct({ params: Schema.Struct(VideoRefFields) })).annotations({
      description: "The gateway client's form: exactly one element whose params name the video"
    })
  ),
  callback_url: Schema.optionalWith(Schema.String, { exact: true }).annotations({
    description: "An http(s) URL that receives the finished task, signed as Standard Webhooks"
  })
}).annotations({ identifier: "CreateTaskRequest" })
/** @since 0.1.0 */
export type CreateTaskBody = typeof CreateTaskBody.Type

/** The statuses of a task. */
export const TaskStatus = Schema.Literal("pending", "processing", "completed", "failed", "cancelled")
/** @since 0.1.0 */
export type TaskStatus = typeof TaskStatus.Type

/** The video's properties as the checks read them. */
export const VideoMetadata = Schema.Struct({
  duration_ms: Schema.Number,
  width: Schema.Number.annotations({ description: "Displayed width, after rotation" }),
  height: Schema.Number.annotations({ description: "Displayed height, after rotation" }),
  fps: Schema.Number,
  format: Schema.String.annotations({ description: "mp4 or mov" })
}).annotations({ identifier: "VideoMetadata" })
/** @since 0.1.0 */
export type VideoMetadata = typeof VideoMetadata.Type

/** The content item of a completed task: the result as a JSON string. */
export const OutputContent = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String.annotations({
    description: "The result: a FaceResult object (#/components/schemas/FaceResult of /openapi.json) as a JSON string",
    jsonSchema: { contentMediaType: "application/json" }
  }),
  url: Schema.String
})

/** Usage of a completed task. */
export const Usage = Schema.Struct({
  cost: Schema.String.annotations({ description: "Total cost in USD, four decimals" }),
  discount: Schema.Number
}).annotations({ identifier: "Usage" })
/** @since 0.1.0 */
export type Usage = typeof Usage.Type

/** The task object every task endpoint answers with. */
export const TaskObject = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  status: TaskStatus,
  progress: Schema.optional(Schema.Number.annotations({ description: "0 to 1, only while processing" })),
  created_at: Schema.Int.annotations({ description: "Unix seconds" }),
  updated_at: Schema.Int.annotations({ description: "Unix seconds" }),
  output: Schema.optional(Schema.Array(Schema.Struct({ content: Schema.Array(OutputContent) }))),
  usage: Schema.optional(Usage),
  error: Schema.optional(ErrorObject),
  metadata: Schema.optional(
    Schema.Struct({
      video: Schema.optional(VideoMetadata),
      timings_ms: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number }))
    })
  )
}).annotations({ identifier: "Task" })
/** @since 0.1.0 */
export type TaskObject = typeof TaskObject.Type

/**
 * The task object as the gateway may also send it: status `in_progress` and `error` as a plain
 * string. Decodes to the canonical {@link TaskObject}.
 */
export const LenientTaskObject = Schema.transform(
  Schema.Struct({
    ...TaskObject.fields,
    status: Schema.Union(TaskStatus, Schema.Literal("in_progress")),
    error: Schema.optional(Schema.Union(ErrorObject, Schema.String))
  }),
  Schema.typeSchema(TaskObject),
  {
    strict: true,
    decode: ({ error, status, ...rest }) => ({
      ...rest,
      status: status === "in_progress" ? ("processing" as const) : status,
      ...(error === undefined
        ? {}
        : { error: typeof error === "string" ? { code: "014002095", error_message: error } : error })
    }),
    encode: (task) => task
  }
)

/** One face of the result. */
export const FaceData = Schema.Struct({
  face_id: Schema.String.annotations({ description: "Unique within the session, in order of first appearance" }),
  face_image: Schema.String.annotations({ description: "Absolute URL of a JPEG crop of the face's best frame" }),
  start_time: Schema.Int.annotations({ description: "Milliseconds from the start of the video" }),
  end_time: Schema.Int.annotations({ description: "Milliseconds from the start of the video; at most one frame late" })
}).annotations({ identifier: "FaceData" })
/** @since 0.1.0 */
export type FaceData = typeof FaceData.Type

/** The result object, carried as a JSON string in the task's `output[0].content[0].text`. */
export const FaceResult = Schema.Struct({
  code: Schema.Number,
  message: Schema.String,
  request_id: Schema.String,
  data: Schema.Struct({
    session_id: Schema.String,
    final_unit_deduction: Schema.String,
    face_data: Schema.Array(FaceData)
  })
}).annotations({ identifier: "FaceResult" })
/** @since 0.1.0 */
export type FaceResult = typeof FaceResult.Type

/** The result decoded from (and encoded to) the `text` JSON string. */
export const FaceResultFromText = Schema.parseJson(FaceResult)

/** The `Idempotency-Key` header of a create: 1 to 255 visible ASCII characters. */
export const IdempotencyKey = Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,255}$/)).annotations({
  description: "The same key and body answer the same task; the same key with another body is refused (422)"
})

/** The answer of `GET /healthz`. */
export const Health = Schema.Struct({ status: Schema.Literal("ok") }).annotations({ identifier: "Health" })

/** The answer to an upload. */
export const UploadedVideo = Schema.Struct({
  video_id: Schema.String.annotations({ description: "The video_id to create tasks with, until expires_at" }),
  bytes: Schema.Int.annotations({ description: "Its size in bytes" }),
  expires_at: Schema.Int.annotations({ description: "Unix seconds" })
}).annotations({ identifier: "UploadedVideo" })
/** @since 0.1.0 */
export type UploadedVideo = typeof UploadedVideo.Type
