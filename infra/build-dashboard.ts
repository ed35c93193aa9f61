// Writes coordinator/src/dashboard/assets.generated.ts from the dashboard's client sources.
import { writeFile } from 'node:fs/promises';
import {
  bundleDashboardAssets,
  GENERATED_PATH,
  renderAssetsModule,
} from '../coordinator/src/dashboard/bundle-assets.js';

const assets = await bundleDashboardAssets();
await writeFile(GENERATED_PATH, renderAssetsModule(assets));
console.log(`${GENERATED_PATH}: script ${assets.js.length} B, style sheet ${assets.css.length} B`);
