/** @module Go's `os.ExpandEnv`, exactly: daprd runs Configuration files through it before parsing. */

const isSpecial = (c: string) => "*#$@!?-".includes(c) || (c >= "0" && c <= "9");
const isAlphaNum = (c: string) =>
  c === "_" || (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");

/** Returns [name, width]; an empty name with width > 0 is bad syntax whose characters are eaten. */
function shellName(s: string): [string, number] {
  if (s[0] === "{") {
    if (s.length > 2 && isSpecial(s[1]!) && s[2] === "}") return [s.slice(1, 2), 3];
    for (let i = 1; i < s.length; i++) {
      if (s[i] === "}") return i === 1 ? ["", 2] : [s.slice(1, i), i + 1];
    }
    return ["", 1];
  }
  if (isSpecial(s[0]!)) return [s.slice(0, 1), 1];
  let i = 0;
  while (i < s.length && isAlphaNum(s[i]!)) i++;
  return [s.slice(0, i), i];
}

export function expandEnv(s: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = "";
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] === "$" && j + 1 < s.length) {
      out += s.slice(i, j);
      const [name, w] = shellName(s.slice(j + 1));
      if (name === "" && w > 0) {
        // invalid syntax: the characters are dropped, as Go does
      } else if (name === "") {
        out += "$";
      } else {
        out += env[name] ?? "";
      }
      j += w;
      i = j + 1;
    }
  }
  return out + s.slice(i);
}
