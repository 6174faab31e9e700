export { compareRows, compareTuples, compareValues, keyOf, tupleOf, type SortTuple } from './order.js';
export { applyRows, applyToWindow, extendWindow, windowFromPage, type LiveWindow } from './window.js';
export { firstPageRetry, LiveWindowController, type LiveWindowOptions, type LiveWindowState } from './controller.js';
