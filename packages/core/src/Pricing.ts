/**
 * What a completed task costs. The default is free.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Analysis } from "./FaceAnalyzer.js"
import type { Usage } from "./Wire.js"

/** The price of one analysis. */
export interface Price {
  readonly usage: Usage
  /** The result's `final_unit_deduction`. */
  readonly unitDeduction: string
}

/** Prices analyses. */
export interface PricingService {
  readonly price: (tenant: string, analysis: Analysis) => Effect.Effect<Price>
}

/** The pricing in use. */
export class Pricing extends Context.Tag("@identify-face/core/Pricing")<Pricing, PricingService>() {}

/** Everything is free: cost `0.0000`, one unit. */
export const free: PricingService = {
  price: () => Effect.succeed({ usage: { cost: "0.0000", discount: 0 }, unitDeduction: "1" })
}

/** The free pricing as a layer. */
export const layerFree: Layer.Layer<Pricing> = Layer.succeed(Pricing, free)
