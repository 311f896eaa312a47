/**
 * The app under test: it asks identify-face for the faces of a video and offers them for
 * lip-sync, or tells the person why the video cannot be used.
 */
import { Errors } from "@identify-face/core"
import type { Client } from "@identify-face/core"

/** A face the person can pick, with when it can be lip-synced. */
export interface FaceChoice {
  readonly id: string
  readonly fromSeconds: number
  readonly toSeconds: number
  readonly thumbnailUrl: string
}

/** The faces to offer, or why there are none. */
export type LipSyncFaces = { readonly faces: ReadonlyArray<FaceChoice> } | { readonly refused: string }

/** The faces of the video at `videoUrl`; a video of the wrong resolution is refused with a reason for people. */
export const lipSyncFaces = async (client: Client.PromiseClient, videoUrl: string): Promise<LipSyncFaces> => {
  try {
    const result = await client.identifyFaces({ videoUrl })
    return {
      faces: result.data.face_data.map((face) => ({
        id: face.face_id,
        fromSeconds: face.start_time / 1000,
        toSeconds: face.end_time / 1000,
        thumbnailUrl: face.face_image
      }))
    }
  } catch (error) {
    if (error instanceof Errors.UnsupportedResolutionError) return { refused: "Please upload the video in 720p or 1080p." }
    throw error
  }
}
