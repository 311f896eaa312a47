// @ts-check
/**
 * The page's calls to the API: the upload with its progress (an XMLHttpRequest, since fetch
 * reports no upload progress), creating a task, polling it at the server's pace, cancelling it.
 * A refusal is an {@link ApiError} with the code of API.md.
 */

/** @typedef {import("@identify-face/core/Wire").TaskObject} TaskObject */
/** @typedef {import("@identify-face/core/Wire").FaceResult} FaceResult */
/** @typedef {import("@identify-face/core/Wire").UploadedVideo} UploadedVideo */
/** @typedef {{ readonly video_id: string } | { readonly video_url: string }} VideoRef */

/** A refusal: a code of API.md (an HTTP status when the body has none, or `network`) and the server's words. */
export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {number} retryAfterMs how long a 429 asks to wait
   */
  constructor(code, message, retryAfterMs = 0) {
    super(message)
    this.name = "ApiError"
    this.code = code
    this.retryAfterMs = retryAfterMs
  }
}

// The server's own default hint; used when an answer carries none.
const DEFAULT_POLL_MS = 1000

/**
 * The error an answer carries: `{ error: { code, error_message } }`, or its status when the body
 * is not an error body.
 * @param {number} status
 * @param {string} text
 * @param {string | null} retryAfter the `Retry-After` header, in seconds
 */
const errorOf = (status, text, retryAfter) => {
  const retryAfterMs = Math.max(0, Number(retryAfter ?? "1") * 1000) || DEFAULT_POLL_MS
  try {
    /** @type {{ error?: { code?: unknown, error_message?: unknown } }} */
    const body = JSON.parse(text)
    if (typeof body.error?.code === "string") return new ApiError(body.error.code, String(body.error.error_message ?? ""), retryAfterMs)
  } catch {
    // Not JSON: a proxy's page, say. The status is all there is.
  }
  return new ApiError(String(status), `the server answered ${status}`, retryAfterMs)
}

/**
 * Waits `ms`, or rejects with the abort reason.
 * @param {number} ms
 * @param {AbortSignal} signal
 */
const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })

/**
 * How long the server asks to wait before the next poll.
 * @param {Response} response
 */
const pollAfterMs = (response) => Number(response.headers.get("x-poll-after-ms")) || DEFAULT_POLL_MS

/**
 * A task just created, and when to poll it first.
 * @typedef {{ readonly task: TaskObject, readonly pollAfterMs: number }} CreatedTask
 */

/** @param {TaskObject} task */
export const isFinished = (task) => task.status === "completed" || task.status === "failed" || task.status === "cancelled"

/**
 * The result of a completed task: the JSON string in `output[0].content[0].text`.
 * @param {TaskObject} task
 * @returns {FaceResult}
 */
export const resultOf = (task) => {
  const text = task.output?.[0]?.content[0]?.text
  if (text === undefined) throw new ApiError("014002096", "the completed task has no result")
  return JSON.parse(text)
}

/**
 * The API at `base` (its mount path, e.g. "" or "/api"), called with `key`.
 * @param {{ base: string, key: string }} options
 */
export const apiClient = ({ base, key }) => {
  const authorization = `Bearer ${key}`

  /**
   * @param {string} path
   * @param {RequestInit & { signal: AbortSignal }} init
   * @returns {Promise<{ body: unknown, response: Response }>}
   */
  const send = async (path, init) => {
    /** @type {Response} */
    let response
    try {
      response = await fetch(`${base}${path}`, { ...init, headers: { authorization, accept: "application/json", ...init.headers } })
    } catch (cause) {
      if (init.signal.aborted) throw cause
      throw new ApiError("network", "the server could not be reached")
    }
    const text = await response.text()
    if (!response.ok) throw errorOf(response.status, text, response.headers.get("retry-after"))
    return { body: JSON.parse(text), response }
  }

  const taskPath = (/** @type {string} */ id) => `/model/v1/generation/task/${encodeURIComponent(id)}`

  return {
    /**
     * Uploads a video as a raw body, reporting the share sent so far.
     * @param {File} file
     * @param {(sent: number) => void} onProgress
     * @param {AbortSignal} signal
     * @returns {Promise<UploadedVideo>}
     */
    uploadVideo: (file, onProgress, signal) =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest()
        xhr.open("POST", `${base}/model/v1/videos`)
        xhr.setRequestHeader("authorization", authorization)
        // The server reads the container from the content; the header only has to be one it takes.
        xhr.setRequestHeader("content-type", file.type === "video/quicktime" ? "video/quicktime" : "video/mp4")
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) onProgress(event.loaded / event.total)
        })
        xhr.addEventListener("load", () => {
          if (xhr.status === 200) resolve(JSON.parse(xhr.responseText))
          else reject(errorOf(xhr.status, xhr.responseText, xhr.getResponseHeader("retry-after")))
        })
        xhr.addEventListener("error", () => reject(new ApiError("network", "the upload was cut off")))
        xhr.addEventListener("abort", () => reject(signal.reason))
        signal.addEventListener("abort", () => xhr.abort(), { once: true })
        xhr.send(file)
      }),

    /**
     * @param {VideoRef} video
     * @param {AbortSignal} signal
     * @returns {Promise<CreatedTask>}
     */
    createTask: async (video, signal) => {
      const body = JSON.stringify({ model: "kirin_identify_face", ...video })
      const { body: task, response } = await send("/model/v1/generation", { method: "POST", headers: { "content-type": "application/json" }, body, signal })
      return { task: /** @type {TaskObject} */ (task), pollAfterMs: pollAfterMs(response) }
    },

    /**
     * Polls a created task until it finishes, each time after the wait the last answer's
     * `X-Poll-After-Ms` (or a 429's `Retry-After`) asks for, handing each state to `onUpdate`.
     * @param {CreatedTask} created
     * @param {(task: TaskObject) => void} onUpdate
     * @param {AbortSignal} signal
     * @returns {Promise<TaskObject>}
     */
    waitForTask: async (created, onUpdate, signal) => {
      let { task, pollAfterMs: wait } = created
      onUpdate(task)
      while (!isFinished(task)) {
        await sleep(wait, signal)
        try {
          const { body, response } = await send(taskPath(task.id), { signal })
          task = /** @type {TaskObject} */ (body)
          wait = pollAfterMs(response)
          onUpdate(task)
        } catch (error) {
          if (!(error instanceof ApiError && error.code === "429")) throw error
          wait = error.retryAfterMs
        }
      }
      return task
    },

    /**
     * @param {string} id
     * @param {AbortSignal} signal
     * @returns {Promise<TaskObject>}
     */
    cancelTask: async (id, signal) => /** @type {TaskObject} */ ((await send(`${taskPath(id)}/cancel`, { method: "POST", signal })).body)
  }
}
