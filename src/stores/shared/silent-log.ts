/** @module A logger that drops everything: what a store holds before init hands it the real one. */
import type { StoreLogger } from "../types.js";

export const SILENT_LOG: StoreLogger = { debug() {}, info() {}, warn() {}, error() {} };
