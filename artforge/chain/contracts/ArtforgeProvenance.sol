// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Registered artforge works as tokens: one token per signed provenance record.
/// @notice ERC-721 with a per-token URI (the metadata, which carries the signed record and the licence),
/// ERC-2981 royalties per token and ERC-4906 metadata-update events (from ERC721URIStorage).  Only the
/// owner mints, and a provenance record hash can be minted once: `tokenOfRecord` finds its token, so a
/// client that crashed after sending can reconcile instead of minting twice.
contract ArtforgeProvenance is ERC721URIStorage, ERC2981, Ownable {
    /// @notice The provenance record hash was minted before, as `tokenId`.
    error RecordAlreadyMinted(bytes32 recordHash, uint256 tokenId);
    /// @notice A record hash of zero names no record.
    error EmptyRecordHash();

    event Minted(uint256 indexed tokenId, bytes32 indexed recordHash);

    uint256 private _nextTokenId = 1; // 0 is "no token" in tokenOfRecord
    mapping(bytes32 => uint256) private _tokenOfRecord;
    mapping(uint256 => bytes32) private _recordOfToken;

    constructor(address initialOwner) ERC721("artforge provenance", "ARTF") Ownable(initialOwner) {}

    /// @notice Mint the token of one provenance record to `to`, with its metadata URI and royalty.
    function mint(address to, string calldata uri, address royaltyReceiver, uint96 royaltyBps, bytes32 recordHash)
        external
        onlyOwner
        returns (uint256 tokenId)
    {
        if (recordHash == bytes32(0)) revert EmptyRecordHash();
        uint256 existing = _tokenOfRecord[recordHash];
        if (existing != 0) revert RecordAlreadyMinted(recordHash, existing);
        tokenId = _nextTokenId++;
        _tokenOfRecord[recordHash] = tokenId;
        _recordOfToken[tokenId] = recordHash;
        _safeMint(to, tokenId);
        _setTokenURI(tokenId, uri);
        _setTokenRoyalty(tokenId, royaltyReceiver, royaltyBps);
        emit Minted(tokenId, recordHash);
    }

    /// @notice The token minted for a provenance record hash, or 0 when there is none.
    function tokenOfRecord(bytes32 recordHash) external view returns (uint256) {
        return _tokenOfRecord[recordHash];
    }

    /// @notice The provenance record hash a token was minted for.
    function recordOf(uint256 tokenId) external view returns (bytes32) {
        _requireOwned(tokenId);
        return _recordOfToken[tokenId];
    }

    function tokenURI(uint256 tokenId) public view override(ERC721URIStorage) returns (string memory) {
        return super.tokenURI(tokenId);
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721URIStorage, ERC2981)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
