// Renders the app icons the web manifest names (public/icons/*.png) from public/favicon.svg,
// with the same Chromium the tests use. The PNGs are committed; after changing the favicon,
// regenerate them with: npx tsx scripts/make-icons.ts
import { readFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { chromiumArgs, chromiumPath } from '../test/chromium.ts';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');

// The favicon's shapes span x 3–29 and y 2–28 of its 32-unit viewBox: a 26-unit square centred on (16, 15).
const GLYPH = { cx: 16, cy: 15, size: 26 };

// A maskable icon is cropped by the platform to any shape that contains the centred circle of
// radius 40% of the icon. The glyph's corners must stay inside it: a square of side s fits when
// s·√2/2 ≤ 0.4, so s ≤ 0.566; 0.54 leaves a margin for launchers that crop a little tighter.
const MASKABLE_GLYPH_SHARE = 0.54;

// The dark of the favicon's own screen (styles.css --text): the amber bag stands out on it, and
// launchers show a maskable icon's background edge to edge.
const MASKABLE_BACKGROUND = '#1f2328';

interface Icon {
  file: string;
  size: number;
  maskable: boolean;
}

const ICONS: Icon[] = [
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  { file: 'icon-maskable-512.png', size: 512, maskable: true },
];

/** The favicon's markup inside an svg of `size` px, either as it is or shrunk onto a solid background. */
function iconSvg(favicon: string, { size, maskable }: Icon): string {
  const inner = favicon.replace(/^[\s\S]*?<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '');
  if (!maskable) return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="${size}" height="${size}">${inner}</svg>`;
  const scale = (32 * MASKABLE_GLYPH_SHARE) / GLYPH.size;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="${size}" height="${size}">` +
    `<rect width="32" height="32" fill="${MASKABLE_BACKGROUND}"/>` +
    `<g transform="translate(16 16) scale(${scale}) translate(${-GLYPH.cx} ${-GLYPH.cy})">${inner}</g>` +
    `</svg>`
  );
}

const favicon = await readFile(join(PUBLIC, 'favicon.svg'), 'utf8');
await mkdir(join(PUBLIC, 'icons'), { recursive: true });
const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs });
try {
  for (const icon of ICONS) {
    const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><style>html,body{margin:0;background:transparent}svg{display:block}</style>${iconSvg(favicon, icon)}`);
    // The plain icons keep the favicon's transparent surroundings; the maskable one paints every pixel.
    await page.locator('svg').screenshot({ path: join(PUBLIC, 'icons', icon.file), omitBackground: true });
    await page.close();
    console.log(`public/icons/${icon.file}: ${icon.size}×${icon.size}${icon.maskable ? ', maskable' : ''}`);
  }
} finally {
  await browser.close();
}
