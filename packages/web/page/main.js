// @ts-check
/**
 * The page: the key, a video (dropped, chosen or a URL), the upload's and the task's progress,
 * then each face on a timeline of the video, playable from where it appears.
 */
import { ApiError, apiClient, resultOf } from "./api.js"
import { reasonFor } from "./reasons.js"

/** @typedef {import("./api.js").TaskObject} TaskObject */
/** @typedef {import("./api.js").FaceResult} FaceResult */
/** @typedef {import("./api.js").VideoRef} VideoRef */
/** @typedef {FaceResult["data"]["face_data"][number]} FaceData */

/**
 * The element with `id`, of the type the page's HTML gives it.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
const element = (id, type) => {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no ${type.name} #${id}`)
  return found
}

const ui = {
  keyForm: element("key-form", HTMLFormElement),
  keyInput: element("key-input", HTMLInputElement),
  keyInUse: element("key-in-use", HTMLDivElement),
  keyShown: element("key-shown", HTMLElement),
  forgetKey: element("forget-key", HTMLButtonElement),
  videoInputs: element("video-inputs", HTMLFieldSetElement),
  dropZone: element("drop-zone", HTMLDivElement),
  fileInput: element("file-input", HTMLInputElement),
  urlForm: element("url-form", HTMLFormElement),
  urlInput: element("url-input", HTMLInputElement),
  progressSection: element("progress-section", HTMLElement),
  status: element("status", HTMLParagraphElement),
  uploadProgress: element("upload-progress", HTMLProgressElement),
  taskProgress: element("task-progress", HTMLProgressElement),
  cancel: element("cancel", HTMLButtonElement),
  problem: element("problem", HTMLDivElement),
  problemCode: element("problem-code", HTMLElement),
  problemReason: element("problem-reason", HTMLElement),
  problemDetail: element("problem-detail", HTMLSpanElement),
  resultSection: element("result-section", HTMLElement),
  resultSummary: element("result-summary", HTMLParagraphElement),
  player: element("player", HTMLVideoElement),
  timeline: element("timeline", HTMLDivElement),
  axisEnd: element("axis-end", HTMLSpanElement),
  faces: element("faces", HTMLOListElement)
}

const apiBase = document.querySelector('meta[name="identify-face-api"]')?.getAttribute("content") ?? ""

// sessionStorage only: the key lives as long as the tab, never in the URL or localStorage.
const KEY_ITEM = "identify-face.api-key"

/**
 * Milliseconds as m:ss.mmm.
 * @param {number} ms
 */
const formatTime = (ms) => {
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.floor((ms % 60_000) / 1000)
  return `${minutes}:${String(seconds).padStart(2, "0")}.${String(Math.round(ms % 1000)).padStart(3, "0")}`
}

const showKeyState = () => {
  const key = sessionStorage.getItem(KEY_ITEM)
  ui.keyForm.hidden = key !== null
  ui.keyInUse.hidden = key === null
  ui.videoInputs.disabled = key === null
  ui.keyShown.textContent = key === null ? "" : `…${key.slice(-4)}`
}

/** The run in progress: aborted when another starts, on cancel and when the key is forgotten. */
let current = /** @type {{ controller: AbortController, taskId: string | undefined } | undefined} */ (undefined)
let videoObjectUrl = /** @type {string | undefined} */ (undefined)

/** @param {string} text */
const announce = (text) => {
  ui.status.textContent = text
}

/**
 * @param {string} code
 * @param {string} detail the server's own words
 */
const showProblem = (code, detail) => {
  ui.problemCode.textContent = code
  ui.problemReason.textContent = reasonFor(code)
  ui.problemDetail.textContent = detail === "" ? "" : `. The server said: ${detail}`
  ui.problem.hidden = false
  announce("Stopped: the reason is below.")
}

/** @param {TaskObject} task */
const showTask = (task) => {
  const words = {
    pending: "The task is waiting to start.",
    processing: "Looking for faces…",
    completed: "Done.",
    failed: "The task failed.",
    cancelled: "The task was cancelled."
  }[task.status]
  // Announced once per status: a live region repeating every percent would drown a screen reader.
  if (ui.status.textContent !== words) announce(words)
  ui.taskProgress.value = task.status === "completed" ? 1 : (task.progress ?? 0)
}

/**
 * Plays the video from where the face appears.
 * @param {FaceData} face
 */
const playFace = (face) => {
  ui.player.currentTime = face.start_time / 1000
  ui.player.play().catch(() => announce("This browser cannot play the video; the timeline still shows where each face is."))
}

/**
 * One face on the timeline: its screenshot, id and interval, and a bar over the video's duration.
 * @param {FaceData} face
 * @param {number} durationMs
 */
const faceRow = (face, durationMs) => {
  const button = document.createElement("button")
  button.type = "button"
  button.className = "face"
  const image = document.createElement("img")
  image.src = face.face_image
  image.alt = `Face ${face.face_id}`
  image.width = 80
  image.height = 80
  const label = document.createElement("span")
  label.className = "face-label"
  const name = document.createElement("strong")
  name.textContent = `Face ${face.face_id}`
  const interval = document.createElement("span")
  interval.textContent = `${formatTime(face.start_time)} – ${formatTime(face.end_time)}`
  const action = document.createElement("span")
  action.className = "visually-hidden"
  action.textContent = ", play from here"
  label.append(name, interval, action)
  const track = document.createElement("span")
  track.className = "track"
  track.setAttribute("aria-hidden", "true")
  const bar = document.createElement("span")
  bar.className = "bar"
  bar.style.left = `${(100 * face.start_time) / durationMs}%`
  bar.style.width = `${(100 * Math.min(face.end_time - face.start_time, durationMs - face.start_time)) / durationMs}%`
  track.append(bar)
  button.append(image, label, track)
  button.addEventListener("click", () => playFace(face))
  const item = document.createElement("li")
  item.append(button)
  return item
}

/**
 * @param {FaceResult} result
 * @param {TaskObject} task
 */
const showFaces = (result, task) => {
  const faces = result.data.face_data
  // The duration the server measured; the last face's end when it sent none.
  const durationMs = task.metadata?.video?.duration_ms ?? Math.max(1, ...faces.map((face) => face.end_time))
  ui.timeline.dataset.durationMs = String(durationMs)
  ui.axisEnd.textContent = formatTime(durationMs)
  ui.faces.replaceChildren(...faces.map((face) => faceRow(face, durationMs)))
  ui.resultSummary.textContent =
    faces.length === 0 ? "No face in this video is usable for lip-sync." : "Choose a face to play the video from where it appears."
  ui.resultSection.hidden = false
  announce(`Done: ${faces.length === 0 ? "no face" : faces.length === 1 ? "one face" : `${faces.length} faces`} found.`)
}

/**
 * The player plays the chosen file from memory, or a pasted URL from where it is.
 * @param {{ file: File } | { url: string }} video
 */
const loadPlayer = (video) => {
  if (videoObjectUrl !== undefined) URL.revokeObjectURL(videoObjectUrl)
  if ("file" in video) {
    videoObjectUrl = URL.createObjectURL(video.file)
    ui.player.src = videoObjectUrl
  } else {
    videoObjectUrl = undefined
    ui.player.src = video.url
  }
}

/** @param {{ file: File } | { url: string }} video */
const run = async (video) => {
  const key = sessionStorage.getItem(KEY_ITEM)
  if (key === null) return
  current?.controller.abort()
  const controller = new AbortController()
  const { signal } = controller
  const thisRun = { controller, taskId: /** @type {string | undefined} */ (undefined) }
  current = thisRun
  const client = apiClient({ base: apiBase, key })

  ui.progressSection.hidden = false
  ui.resultSection.hidden = true
  ui.problem.hidden = true
  ui.uploadProgress.value = 0
  ui.taskProgress.value = 0
  ui.cancel.hidden = false
  loadPlayer(video)
  try {
    /** @type {VideoRef} */
    let ref
    if ("file" in video) {
      announce(`Uploading ${video.file.name}…`)
      const uploaded = await client.uploadVideo(video.file, (sent) => (ui.uploadProgress.value = sent), signal)
      ref = { video_id: uploaded.video_id }
    } else {
      ui.uploadProgress.value = 1
      ref = { video_url: video.url }
    }
    announce("Creating the task…")
    const created = await client.createTask(ref, signal)
    thisRun.taskId = created.task.id
    const task = await client.waitForTask(created, showTask, signal)
    if (task.status === "completed") showFaces(resultOf(task), task)
    else if (task.status === "failed") showProblem(task.error?.code ?? "014002095", task.error?.error_message ?? "")
  } catch (error) {
    if (signal.aborted) return
    if (error instanceof ApiError) showProblem(error.code, error.message)
    else showProblem("014002095", String(error))
  } finally {
    if (current === thisRun) ui.cancel.hidden = true
  }
}

const cancel = () => {
  const cancelled = current
  if (cancelled === undefined) return
  cancelled.controller.abort()
  ui.cancel.hidden = true
  announce("Cancelled.")
  const key = sessionStorage.getItem(KEY_ITEM)
  if (cancelled.taskId === undefined || key === null) return
  apiClient({ base: apiBase, key })
    .cancelTask(cancelled.taskId, new AbortController().signal)
    .then(showTask, (error) => {
      // A task that finished meanwhile (409) has nothing left to cancel.
      if (!(error instanceof ApiError && error.code === "409")) showProblem(error instanceof ApiError ? error.code : "network", String(error))
    })
}

ui.keyForm.addEventListener("submit", (event) => {
  event.preventDefault()
  const key = ui.keyInput.value.trim()
  if (key === "") return
  sessionStorage.setItem(KEY_ITEM, key)
  ui.keyInput.value = ""
  showKeyState()
  ui.fileInput.focus()
})

ui.forgetKey.addEventListener("click", () => {
  // No request goes out with a forgotten key: the run in progress stops polling.
  if (current !== undefined) {
    current.controller.abort()
    current = undefined
    ui.cancel.hidden = true
    announce("Stopped: the key was forgotten.")
  }
  sessionStorage.removeItem(KEY_ITEM)
  showKeyState()
  ui.keyInput.focus()
})

ui.fileInput.addEventListener("change", () => {
  const file = ui.fileInput.files?.[0]
  if (file !== undefined) void run({ file })
})

ui.dropZone.addEventListener("dragover", (event) => {
  if (ui.videoInputs.disabled) return
  event.preventDefault()
  ui.dropZone.classList.add("dragging")
})
ui.dropZone.addEventListener("dragleave", () => ui.dropZone.classList.remove("dragging"))
ui.dropZone.addEventListener("drop", (event) => {
  event.preventDefault()
  ui.dropZone.classList.remove("dragging")
  const file = event.dataTransfer?.files[0]
  if (file !== undefined && !ui.videoInputs.disabled) void run({ file })
})

ui.urlForm.addEventListener("submit", (event) => {
  event.preventDefault()
  void run({ url: ui.urlInput.value.trim() })
})

ui.cancel.addEventListener("click", cancel)

// The playhead on every face's track follows the video.
ui.player.addEventListener("timeupdate", () => {
  const durationMs = Number(ui.timeline.dataset.durationMs ?? "0")
  if (durationMs > 0) ui.timeline.style.setProperty("--playhead", String(Math.min(1, (ui.player.currentTime * 1000) / durationMs)))
})

showKeyState()
