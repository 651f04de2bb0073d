import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { type KeyPair, nodeIdOf } from '../../keys/keypair.ts';
import { FederationOptionsError } from './errors.ts';

/**
 * A hub has ONE key. Its libp2p identity is that same Ed25519 key: the 32-byte seed in hub.key is
 * the libp2p private key, so
 *
 *   peer id  = base58btc( identity-multihash( protobuf{ type: Ed25519, data: publicKey } ) )   ("12D3KooW…")
 *   node id  = hex( sha256("dcloud-node-id\n" || publicKey)[0..16] )                            (keys/keypair.ts)
 *
 * and either can be computed from the other's public key, which the peer id contains. Hence:
 * the peer id survives restarts (it is in hub.key), gossip signed by a hub's peer (StrictSign) is
 * signed by the key that signs its envelopes, and a sync peer's hub identity needs no lookup.
 */
export async function libp2pKeyOf(pair: KeyPair): Promise<Ed25519PrivateKey> {
  const key = await generateKeyPairFromSeed('Ed25519', pair.secretKey);
  if (Buffer.compare(Buffer.from(key.publicKey.raw), Buffer.from(pair.publicKey)) !== 0) {
    throw new FederationOptionsError('the hub key pair is inconsistent: its seed does not give its public key');
  }
  return key;
}

export function peerIdOfPublicKey(publicKey: Uint8Array): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey));
}

/** The Ed25519 public key inside a peer id, hex; undefined for peers of other key types (never hubs). */
export function publicKeyHexOfPeer(peerId: PeerId): string | undefined {
  if (peerId.type !== 'Ed25519') return undefined;
  return Buffer.from(peerId.publicKey.raw).toString('hex');
}

/** The node id of the hub behind a peer id, or undefined when the peer cannot be a hub. */
export function nodeIdOfPeer(peerId: PeerId): string | undefined {
  if (peerId.type !== 'Ed25519') return undefined;
  return nodeIdOf(peerId.publicKey.raw);
}
