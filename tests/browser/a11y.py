"""A basic automated accessibility check run in the page: language, one h1, labels, text
alternatives, accessible names, unique ids, and WCAG AA text contrast (4.5:1, 3:1 for large text)."""

from __future__ import annotations

from playwright.sync_api import Page

CHECK = r"""
() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("html without lang");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!named) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name}`);
  }
  for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) problems.push(`img without alt: ${img.src}`);
  for (const svg of document.querySelectorAll("svg")) {
    if (svg.getAttribute("aria-hidden") !== "true" && !(svg.getAttribute("role") === "img" && svg.getAttribute("aria-label")))
      problems.push("svg without a text alternative");
  }
  for (const el of document.querySelectorAll("button, a[href], summary"))
    if (!(el.textContent.trim() || el.getAttribute("aria-label"))) problems.push(`${el.tagName.toLowerCase()} without a name`);
  const ids = [...document.querySelectorAll("[id]")].map(e => e.id);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dup.length) problems.push(`duplicate ids: ${[...new Set(dup)]}`);
  const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); return m ? m[1].split(/[ ,\/]+/).filter(Boolean).map(Number) : null; };
  const lum = (c) => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                                 if (c && (c.length < 4 || c[3] > 0)) return c; } return [255, 255, 255]; };
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg") || ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none" || el.getClientRects().length === 0) continue;
    const [hi, lo] = [lum(rgb(st.color)), lum(background(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const large = size >= 24 || (size >= 18.66 && bold);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)}:1 for <${el.tagName.toLowerCase()}> "${el.textContent.trim().slice(0, 40)}"`);
  }
  return problems;
}
"""


def assert_accessible(page: Page) -> None:
    problems: list[str] = page.evaluate(CHECK)
    assert problems == [], f"{page.url}: {problems}"


def assert_fits(page: Page) -> None:
    """Narrow screens: nothing wider than the viewport but the tables' own scrolling boxes."""
    overflow: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the screen"
