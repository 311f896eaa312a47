import { defineProject } from "vitest/config"
import type { UserWorkspaceConfig } from "vitest/config"

/**
 * The vitest project of one workspace package: sources are read through the `source` export
 * condition, so tests need no build.
 */
export const packageProject = (name: string, test: UserWorkspaceConfig["test"] = {}) =>
  defineProject({
    resolve: { conditions: ["source"] },
    // Vite applies `resolve.conditions` to browser code only; tests run as SSR code.
    ssr: { resolve: { conditions: ["source"] } },
    test: { name, include: ["test/**/*.test.ts"], ...test }
  })
