// The few browser APIs the dashboard's script uses, typed here so that script.ts is
// checked like the rest of src/ without the DOM library (which would also type
// `document`, `window`, ... in the Node code around it). Only what the page calls.

export interface PageElement {
  id: string;
  className: string;
  textContent: string | null;
  title: string;
  hidden: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly children: ArrayLike<PageElement>;
  appendChild(child: PageElement): PageElement;
  insertBefore(child: PageElement, before: PageElement | null): PageElement;
  remove(): void;
  replaceWith(other: PageElement): void;
  setAttribute(name: string, value: string): void;
  querySelector(selector: string): PageElement | null;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  focus(): void;
}

export interface PageInput extends PageElement {
  value: string;
}

export interface PageSvg extends PageElement {
  readonly viewBox: { readonly baseVal: { readonly width: number; readonly height: number } };
}

export interface PageDocument {
  getElementById(id: string): PageElement | null;
  createElement(tag: string): PageElement;
  createElementNS(namespace: string, tag: string): PageElement;
}

export interface PageLocation {
  readonly hash: string;
  readonly pathname: string;
  readonly search: string;
  readonly host: string;
}

export interface PageHistory {
  replaceState(data: null, unused: string, url: string): void;
}

export interface PageStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface PageResponse {
  readonly status: number;
  readonly ok: boolean;
  json(): Promise<unknown>;
}

export type PageFetch = (url: string, init: { headers: Record<string, string>; cache: 'no-store' }) => Promise<PageResponse>;

export interface PagePerformance {
  now(): number;
}
