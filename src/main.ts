/** @module bin entry. */
console.log("keyward");
