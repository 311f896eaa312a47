/**
 * Lower CPU priority for the analysis's heavy work (the ffmpeg and ffprobe children, the detector
 * threads), so that on a busy machine the event loop that answers requests is scheduled first and
 * the heavy work takes the CPU it leaves. With nothing else to run, lowered work runs as fast.
 * Best effort: where the OS refuses (no permission, a child already gone), the work keeps the
 * priority it has.
 */
import { readdirSync } from "node:fs"
import { getPriority, setPriority } from "node:os"

/** How many nice steps (Unix, -20 highest to 19 lowest) below its spawner heavy work runs. */
export const HEAVY_WORK_NICENESS = 10

const LOWEST = 19

// Relative to what the target has (inherited from its spawner), so that a server that is itself
// niced keeps the same lead; never raised, which an unprivileged process may not do anyway.
const lower = (pid: number) => {
  try {
    setPriority(pid, Math.min(LOWEST, getPriority(pid) + HEAVY_WORK_NICENESS))
  } catch {
    // EACCES, EPERM, ESRCH (it has exited already): it runs at the priority it has.
  }
}

// Set once this whole process is heavy work: what it starts inherits its priority, lowered once.
// In the environment, since a worker thread has a module of its own but a copy of the environment.
const PROCESS_LOWERED = "IDENTIFY_FACE_PROCESS_LOWERED"
const processLowered = () => process.env[PROCESS_LOWERED] === "1"

/**
 * Lowers a child process just spawned: it takes effect before ffmpeg has loaded its libraries and
 * started its threads, which inherit it. `undefined` (a spawn that failed) is ignored.
 */
export const lowerChildPriority = (pid: number | undefined): void => {
  if (pid !== undefined && !processLowered()) lower(pid)
}

/**
 * Lowers the calling worker thread only. That is Linux's behaviour for the process id 0, which
 * names the calling thread there; elsewhere it names the whole process, so this does nothing.
 */
export const lowerThreadPriority = (): void => {
  if (process.platform === "linux" && !processLowered()) lower(0)
}

/**
 * Lowers this whole process, which does only heavy work (the analysis process): on Linux each of
 * its threads, those Node started before this ran included, since a priority there is a thread's.
 * The threads and children it starts afterwards inherit it and are not lowered again.
 */
export const lowerProcessPriority = (): void => {
  if (process.platform === "linux") for (const thread of readdirSync("/proc/self/task")) lower(Number(thread))
  else lower(process.pid)
  process.env[PROCESS_LOWERED] = "1"
}
