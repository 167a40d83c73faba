// Compiles the Aave v3.6 market the devnet deploys, from the Solidity sources pinned in package-lock.json
// (@aave-dao/aave-v3-origin 3.6.0, OpenZeppelin 5.1.0), with the bundled solc-js 0.8.27: no network, no
// native compiler. Aave's own settings (foundry.toml): optimizer 200 runs, evm shanghai, no via-IR.
//
// The output is cached: build/aave-v3.6/artifacts.json carries a key, the hash of package-lock.json and
// of this file, and a run whose key matches exits at once. `make install` runs it (npm run compile-aave).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..", "..");
const nodeModules = process.env.HEDGEBOT_NODE_MODULES || join(repo, "node_modules");
const outDir = process.env.HEDGEBOT_AAVE_BUILD || join(repo, "build", "aave-v3.6");
const outFile = join(outDir, "artifacts.json");

const ORIGIN = "@aave-dao/aave-v3-origin/src/contracts/";
// Entry points: file (under the package's src/contracts) -> the contracts whose bytecode the devnet needs.
// The Pool's external libraries are compiled as their own contracts and linked at deployment.
const ENTRY_POINTS = {
  "protocol/configuration/PoolAddressesProvider.sol": ["PoolAddressesProvider"],
  "protocol/configuration/ACLManager.sol": ["ACLManager"],
  "instances/PoolInstance.sol": ["PoolInstance"],
  "instances/PoolConfiguratorInstance.sol": ["PoolConfiguratorInstance"],
  "instances/ATokenInstance.sol": ["ATokenInstance"],
  "instances/VariableDebtTokenInstance.sol": ["VariableDebtTokenInstance"],
  "misc/AaveOracle.sol": ["AaveOracle"],
  "misc/DefaultReserveInterestRateStrategyV2.sol": ["DefaultReserveInterestRateStrategyV2"],
  "helpers/AaveProtocolDataProvider.sol": ["AaveProtocolDataProvider"],
  // Anyone may mint it, as the v3.0 devnet's MintableERC20 (TestnetERC20 mints for its owner only).
  "mocks/tokens/MintableERC20.sol": ["MintableERC20"],
  "mocks/oracle/CLAggregators/MockAggregator.sol": ["MockAggregator"],
  "protocol/libraries/logic/BorrowLogic.sol": ["BorrowLogic"],
  "protocol/libraries/logic/ConfiguratorLogic.sol": ["ConfiguratorLogic"],
  "protocol/libraries/logic/FlashLoanLogic.sol": ["FlashLoanLogic"],
  "protocol/libraries/logic/LiquidationLogic.sol": ["LiquidationLogic"],
  "protocol/libraries/logic/PoolLogic.sol": ["PoolLogic"],
  "protocol/libraries/logic/SupplyLogic.sol": ["SupplyLogic"],
};
// The imports Aave's foundry remappings resolve, mapped onto the npm packages.
const REMAPPINGS = [
  "openzeppelin-contracts/contracts/=@openzeppelin/contracts/",
  "openzeppelin-contracts-upgradeable/contracts/=@openzeppelin/contracts-upgradeable/",
  "solidity-utils/contracts/=@bgd-labs/solidity-utils/src/contracts/",
];

function cacheKey() {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(repo, "package-lock.json")));
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  return hash.digest("hex");
}

function main() {
  const key = cacheKey();
  if (existsSync(outFile)) {
    try {
      if (JSON.parse(readFileSync(outFile, "utf8")).key === key) {
        console.log(`aave v3.6 artifacts up to date: ${outFile}`);
        return;
      }
    } catch {
      // a broken file is rebuilt
    }
  }
  const require = createRequire(join(nodeModules, "noop.js"));
  const solc = require("solc");
  const sources = {};
  const selection = {};
  for (const [file, contracts] of Object.entries(ENTRY_POINTS)) {
    const unit = ORIGIN + file;
    sources[unit] = { content: readFileSync(join(nodeModules, unit), "utf8") };
    selection[unit] = Object.fromEntries(
      contracts.map((c) => [c, ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences"]]),
    );
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "shanghai",
      remappings: REMAPPINGS,
      outputSelection: selection,
    },
  };
  const findImports = (path) => {
    const file = join(nodeModules, path);
    return existsSync(file) ? { contents: readFileSync(file, "utf8") } : { error: `not found: ${file}` };
  };
  const started = Date.now();
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length) {
    for (const e of errors) console.error(e.formattedMessage);
    process.exit(1);
  }
  const contracts = {};
  for (const [unit, names] of Object.entries(selection)) {
    for (const name of Object.keys(names)) {
      const c = output.contracts[unit][name];
      contracts[name] = {
        source: unit,
        abi: c.abi,
        bytecode: "0x" + c.evm.bytecode.object,
        linkReferences: c.evm.bytecode.linkReferences,
      };
    }
  }
  const artifacts = { key, compiler: solc.version(), settings: input.settings, contracts };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(outFile + ".tmp", JSON.stringify(artifacts));
  renameSync(outFile + ".tmp", outFile);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`compiled aave v3.6 (${Object.keys(contracts).length} contracts, solc ${solc.version()}) in ${seconds} s: ${outFile}`);
}

main();
