"""Optional on-chain tokens for registered works (ERC-721 with ERC-2981 royalties); nothing else needs them."""
