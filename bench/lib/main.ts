/** @module Lets a bench module be both imported and run as a child process. */
import { pathToFileURL } from "node:url";

export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}
