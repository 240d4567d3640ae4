// Renders markdown written by strangers (model cards, Space READMEs, model output) as GitHub
// would: GFM plus raw HTML, passed through GitHub's sanitising schema. The order of the rehype
// plugins is the security boundary: everything before `rehypeSanitize` sees hostile input and
// everything after it runs on clean trees and only adds what we trust (link targets, resolved
// URLs, highlighting spans), so the schema needs no room for highlight.js class names.
import type { Element, ElementContent, Root, RootContent } from 'hast';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import typescript from 'highlight.js/lib/languages/typescript';
import yaml from 'highlight.js/lib/languages/yaml';
import { createLowlight } from 'lowlight';
import { useEffect, useMemo, useRef, useState, type ComponentProps } from 'react';
import ReactMarkdown, { type Components, type ExtraProps, type Options } from 'react-markdown';
import rehypeRaw from 'rehype-raw';
import rehypeSanitize, { defaultSchema, type Options as SanitizeSchema } from 'rehype-sanitize';
import rehypeSlug from 'rehype-slug';
import remarkGfm from 'remark-gfm';
import './markdown.css';

// The sanitiser prefixes every id and name so that a card cannot shadow the app's own ids or
// clobber DOM globals (`<img name="getElementById">`). Anchors are rewritten to match below.
const ID_PREFIX = defaultSchema.clobberPrefix ?? 'user-content-';

const schema: SanitizeSchema = {
  ...defaultSchema,
  // Unwrapped, a <style> element's CSS would show up as a paragraph of text; drop it whole.
  strip: [...(defaultSchema.strip ?? []), 'style'],
  attributes: {
    ...defaultSchema.attributes,
    // GitHub allows these, but inside our app a card could use them to take the first Tab stop
    // ahead of the skip link (a positive tabindex) or steal the app's keyboard shortcuts.
    '*': (defaultSchema.attributes?.['*'] ?? []).filter((name) => name !== 'tabIndex' && name !== 'accessKey'),
  },
};

// A few common languages instead of highlight.js's 190 keep the bundle small. Fences in other
// languages are shown as plain code; nothing is auto-detected (slow, and often wrong on snippets).
const lowlight = createLowlight({ bash, c, cpp, javascript, json, markdown, python, rust, typescript, yaml, console: shell });
// On GitHub ```shell means a script, not a console session with `$` prompts.
lowlight.registerAlias({ bash: ['shell'] });

type Parent = Root | Element;

function forEachElement(parent: Parent, visit: (element: Element) => void): void {
  for (const child of parent.children as RootContent[]) {
    if (child.type !== 'element') continue;
    visit(child);
    forEachElement(child, visit);
  }
}

function textOf(node: ElementContent): string {
  if (node.type === 'text') return node.value;
  return node.type === 'element' ? node.children.map(textOf).join('') : '';
}

function classesOf(element: Element): string[] {
  const value = element.properties.className;
  return Array.isArray(value) ? value.map(String) : [];
}

/** Highlights `<pre><code class="language-x">` for the registered languages. */
function rehypeHighlightCode() {
  return (tree: Root) =>
    forEachElement(tree, (pre) => {
      const code = pre.tagName === 'pre' ? pre.children.find((c): c is Element => c.type === 'element' && c.tagName === 'code') : undefined;
      if (!code) return;
      const language = classesOf(code)
        .find((name) => name.startsWith('language-'))
        ?.slice('language-'.length);
      if (!language || !lowlight.registered(language)) return;
      const highlighted = lowlight.highlight(language, code.children.map(textOf).join(''));
      code.children = highlighted.children as ElementContent[];
      code.properties.className = [...classesOf(code), 'hljs'];
    });
}

const LINK_PROTOCOLS = ['http:', 'https:', 'mailto:'];
// No `data:` images, as in GitHub's schema. An <img> would not run a data: SVG's scripts, but a
// card's images live in its repository, and one rule for every URL (never data:) is easier to
// trust than a list of safe MIME types.
const IMAGE_PROTOCOLS = ['http:', 'https:'];

/** An absolute URL with an allowed protocol, or undefined (relative with no base, or unsafe). */
function resolveUrl(url: string, base: URL | undefined, protocols: string[]): string | undefined {
  try {
    const resolved = new URL(url, base);
    return protocols.includes(resolved.protocol) ? resolved.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Relative links and images resolve against the repository, as on the Hub; in-page anchors get
 * the sanitiser's id prefix; links out open in a new tab without handing over `window.opener`.
 * Runs after the sanitiser, which has already removed `javascript:` and other protocols.
 */
function rehypeResolveUrls({ baseUrl }: { baseUrl?: string }) {
  // Without the trailing slash `new URL('x.png', '…/resolve/abc')` would replace `abc`.
  const base = baseUrl === undefined ? undefined : new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return (tree: Root) =>
    forEachElement(tree, (element) => {
      const { properties } = element;
      if (element.tagName === 'a' && typeof properties.href === 'string') {
        const href = properties.href;
        if (href.startsWith('#')) {
          if (href.length > 1 && !href.startsWith(`#${ID_PREFIX}`)) properties.href = `#${ID_PREFIX}${href.slice(1)}`;
          return;
        }
        const resolved = resolveUrl(href, base, LINK_PROTOCOLS);
        if (resolved === undefined) {
          delete properties.href;
        } else {
          properties.href = resolved;
          if (!resolved.startsWith('mailto:')) {
            properties.target = '_blank';
            properties.rel = ['noopener', 'noreferrer'];
          }
        }
      } else if (element.tagName === 'img') {
        const src = typeof properties.src === 'string' ? resolveUrl(properties.src, base, IMAGE_PROTOCOLS) : undefined;
        if (src === undefined) delete properties.src;
        else properties.src = src;
        properties.loading = 'lazy';
        // Third-party image hosts learn nothing about which page of the app was open.
        properties.referrerPolicy = 'no-referrer';
      } else if (element.tagName === 'source' && typeof properties.srcSet === 'string') {
        // `<picture><source srcset>` (light/dark logos) is allowed by the schema but its URLs are
        // not protocol-checked there: each candidate is `url [descriptor]`, split on ', '.
        const candidates = properties.srcSet.split(/,\s+/).flatMap((candidate) => {
          const [url, ...descriptor] = candidate.trim().split(/\s+/);
          const resolved = resolveUrl(url, base, IMAGE_PROTOCOLS);
          return resolved === undefined ? [] : [[resolved, ...descriptor].join(' ')];
        });
        if (candidates.length > 0) properties.srcSet = candidates.join(', ');
        else delete properties.srcSet;
      }
    });
}

/** A fenced block with a Copy button; the status line tells screen readers that it worked. */
function CodeBlock({ node: _node, ...props }: ComponentProps<'pre'> & ExtraProps) {
  const pre = useRef<HTMLPreElement>(null);
  const [status, setStatus] = useState('');

  useEffect(() => {
    if (status === '') return;
    const timer = setTimeout(() => setStatus(''), 2000);
    return () => clearTimeout(timer);
  }, [status]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(pre.current?.textContent ?? '');
      setStatus('Copied');
    } catch {
      // No clipboard access: an insecure context, or the user denied the permission.
      setStatus('Copy failed');
    }
  }

  return (
    <div className="md-code">
      <pre ref={pre} {...props} />
      <div className="md-code-actions">
        <span role="status" className="md-code-status">
          {status}
        </span>
        <button type="button" className="md-code-copy" aria-label="Copy code" onClick={copy}>
          Copy
        </button>
      </div>
    </div>
  );
}

const components: Components = { pre: CodeBlock };

export interface MarkdownProps {
  /** GitHub-flavoured markdown, raw HTML allowed, from an untrusted author. */
  source: string;
  /**
   * The folder relative URLs resolve against: for a model card `<hub>/<owner>/<name>/resolve/<commit>/`.
   * Without it (a chat reply) relative links and images are dropped, since the app is not
   * where their author's files live.
   */
  baseUrl?: string;
  className?: string;
}

export function Markdown({ source, baseUrl, className }: MarkdownProps) {
  const root = useRef<HTMLDivElement>(null);

  const rehypePlugins = useMemo<Options['rehypePlugins']>(
    () => [rehypeRaw, rehypeSlug, [rehypeSanitize, schema], [rehypeResolveUrls, { baseUrl }], rehypeHighlightCode],
    [baseUrl],
  );

  // A shared link such as `…/owner/name#usage` names the heading as the author wrote it; its id
  // carries the sanitiser's prefix, so follow the hash here as GitHub's own script does.
  useEffect(() => {
    function scrollToHash() {
      let id: string;
      try {
        id = decodeURIComponent(window.location.hash.slice(1));
      } catch {
        return;
      }
      if (id === '' || id.startsWith(ID_PREFIX) || document.getElementById(id)) return;
      const target = document.getElementById(ID_PREFIX + id);
      if (target && root.current?.contains(target)) target.scrollIntoView();
    }
    scrollToHash();
    window.addEventListener('hashchange', scrollToHash);
    return () => window.removeEventListener('hashchange', scrollToHash);
  }, [source]);

  return (
    <div ref={root} className={className ? `markdown-body ${className}` : 'markdown-body'}>
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        // The sanitiser adds the id prefix; remark-rehype adding its own to footnote ids too
        // would double it and break footnote links.
        remarkRehypeOptions={{ clobberPrefix: '' }}
        rehypePlugins={rehypePlugins}
        components={components}
      >
        {source}
      </ReactMarkdown>
    </div>
  );
}
