// Compiles ArtforgeProvenance.sol offline with solcjs and the pinned OpenZeppelin sources, and writes the
// artifact (ABI, bytecode, compiler, settings and the source's SHA-256) beside it: `npm install && npm run build`.
// The output goes to a file, never a pipe (solcjs output through a pipe can be cut short).
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const solc = require("solc");

const NAME = "ArtforgeProvenance";
const here = __dirname;
const sourceText = fs.readFileSync(path.join(here, `${NAME}.sol`), "utf8");
// py-evm (eth-tester, the in-process chain) runs the Prague rules; anvil does too.
const settings = {
  evmVersion: "prague",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
const input = { language: "Solidity", sources: { [`${NAME}.sol`]: { content: sourceText } }, settings };

function findImports(importPath) {
  const resolved = path.join(here, "node_modules", importPath);
  if (!fs.existsSync(resolved)) return { error: `not found: ${importPath}` };
  return { contents: fs.readFileSync(resolved, "utf8") };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const contract = output.contracts[`${NAME}.sol`][NAME];
const openzeppelin = JSON.parse(fs.readFileSync(path.join(here, "node_modules/@openzeppelin/contracts/package.json")));
const artifact = {
  contractName: NAME,
  compiler: { name: "solcjs", version: solc.version() },
  openzeppelin: openzeppelin.version,
  settings,
  sourceSha256: crypto.createHash("sha256").update(sourceText).digest("hex"),
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
  deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
};
const target = path.join(here, `${NAME}.json`);
fs.writeFileSync(target + ".tmp", JSON.stringify(artifact, null, 1) + "\n");
fs.renameSync(target + ".tmp", target);
console.error(`wrote ${target} (solc ${solc.version()}, OpenZeppelin ${openzeppelin.version})`);
