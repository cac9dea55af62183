"""Optional on-chain tokens for registered works (ERC-721 with ERC-2981 royalties); nothing else needs them."""

# Defaults the command line shows before anything heavy loads (web3 is imported lazily everywhere).
DEFAULT_PORT = 8545  # anvil's own default port: wallets know it as a dev chain's
DEFAULT_ROYALTY_BPS = 500  # 5%, a common marketplace default
MAX_ROYALTY_BPS = 10_000  # ERC-2981's denominator: 100%
