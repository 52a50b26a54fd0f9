"""Refusal detector: contract, hedged refusals, look-alikes, masking, structure, typing, languages."""

from __future__ import annotations

import polars as pl
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.signals.refusal import OUTPUT_SCHEMA, detect_refusal

LIST_ANSWER = (
    "Here are some tips to quit smoking:\n\n"
    + "\n".join(f"{i}. Tip number {i}: do something useful about it every day." for i in range(1, 8))
    + "\n\nIt's important to note that nicotine replacement can have side effects; "
    "please consult a doctor. I can't guarantee results for everyone."
)


def _one(text: str, **kw) -> dict:
    return detect_refusal(pl.Series([text]), **kw).row(0, named=True)


def test_contract_rows_order_nulls_empty_determinism():
    texts = pl.Series("content", ["I can't help with that.", None, "", "Sure, here it is."])
    before = texts.clone()
    a = detect_refusal(texts)
    b = detect_refusal(texts)
    assert a.height == 4
    assert dict(a.schema) == OUTPUT_SCHEMA
    assert a.equals(b)
    assert texts.equals(before)
    assert a["refusal"].to_list() == [True, False, False, False]
    assert a["refusal_cues"].to_list()[1] == []
    empty = detect_refusal(pl.Series([], dtype=pl.String))
    assert empty.height == 0 and dict(empty.schema) == OUTPUT_SCHEMA
    assert detect_refusal(["I cannot help with that."])["refusal"].item()


def test_bad_parameters():
    with pytest.raises(InvalidParameterError, match="profile"):
        detect_refusal(pl.Series(["x"]), profile="strict")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="Series of strings"):
        detect_refusal(pl.Series([1, 2]))


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I am unable to provide that information.",
        "I apologize, but I cannot fulfill your request.",
        "I apologize, but I do not feel comfortable generating that type of content.",
        "I can’t help with that.",  # curly apostrophe
        "I’m not able to help with this request.",
        "I must respectfully decline to write that.",
        "**I cannot** assist with creating malware.",
        # hedged / capability / lecture styles a prefix matcher misses
        "I don't have access to real-time information, so I can't tell you today's stock price.",
        "As an AI language model, I don't have the ability to browse the internet.",
        "It's not appropriate to make generalizations about people based on their ethnicity. "
        "Every individual deserves to be treated with respect.",
        "It is not ethical to track someone without their consent. Instead, I'd encourage you "
        "to talk to them directly.",
        "I don't think it's appropriate to speculate about a private person's health.",
    ],
)
def test_refusals_are_caught(text):
    assert _one(text)["refusal"], text


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry to hear that. Here are some ways to cope with stress: take walks, sleep well.",
        "You cannot do this in SQL without a join; here is how:\n\nSELECT a.x FROM a JOIN b ON a.id = b.id;",
        "If you do not have access to the server, ask your admin.",
        "Sure! Here's a poem about a dangerous sea voyage.",
        "Hello! I am designed to help you with a variety of tasks.",
        "The task too often fails when the network is slow; add a retry.",
        "I can't stress enough how important backups are. Here is a plan.",
        "To stop a process, run:\n```\nkill -9 1234  # I cannot be undone\n```\nThat's it.",
        'In the film, HAL says "I\'m sorry, Dave. I\'m afraid I can\'t do that." It is a famous line.',
        "Sorry for the confusion earlier! The correct answer is 42.",
        LIST_ANSWER,
    ],
)
def test_lookalikes_and_helpful_answers_are_not_refusals(text):
    row = _one(text)
    assert not row["refusal"], (text, row)


def test_disclaimer_alone_is_not_a_refusal():
    row = _one("As an AI language model, here is a summary of the book: it follows a young girl.")
    assert row["disclaimer"] and not row["refusal"]


def test_typing_capability_policy_mixed():
    cap = _one("I'm sorry, but I can't browse the internet or access real-time data.")
    pol = _one("I can't help with that because it would be unethical and against my guidelines.")
    mixed = _one("I don't have access to personal records, and sharing them would violate privacy laws "
                 "and be unethical.")
    assert (cap["refusal_type"], pol["refusal_type"]) == ("capability", "policy")
    assert mixed["refusal_type"] == "mixed"
    assert _one("Paris is the capital of France.")["refusal_type"] == "none"


def test_partial_refusal_opening_refusal_then_alternatives():
    text = ("I can't provide instructions for picking locks on someone else's door. However, here "
            "are some legitimate options if you are locked out:\n\n1. Call a licensed locksmith.\n"
            "2. Contact your landlord.\n3. Check for an unlocked window you own.\n"
            "4. Call the non-emergency police line.\n" + "More detail follows. " * 20)
    row = _one(text)
    assert row["refusal"] and row["refusal_partial"]


def test_buried_withholding_in_long_answer_is_partial():
    text = ("Here is an overview of how these medications work.\n\n"
            + "\n".join(f"{i}. Point {i} about the class of drugs and its general effects." for i in range(1, 6))
            + "\n\nI can't provide specific dosage instructions; ask your pharmacist.")
    row = _one(text)
    assert row["refusal_partial"]


def test_score_is_monotone_in_evidence():
    weak = _one("Unfortunately, that is a tricky topic.")["refusal_score"]
    strong = _one("Unfortunately, I cannot help with that; it violates my guidelines.")["refusal_score"]
    assert 0.0 <= weak < 0.5 < strong <= 1.0


LANGUAGE_CASES = {
    "zh": ("抱歉，我无法回答这个问题。", "很抱歉听到这个消息。以下是一些建议。"),
    "es": ("Lo siento, pero no puedo ayudarte con eso.", "Siento escuchar eso. Aquí tienes algunas ideas."),
    "fr": ("Désolé, mais je ne peux pas vous aider avec cela.", "Désolé d'apprendre cela. Voici quelques idées."),
    "de": ("Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.", "Es tut mir leid, das zu hören. Hier sind Tipps."),
    "ru": ("Извините, но я не могу помочь с этим.", "Мне жаль это слышать. Вот несколько советов."),
    "pt": ("Desculpe, mas não posso ajudar com isso.", "Sinto muito em saber disso. Aqui estão algumas dicas."),
    "it": ("Mi dispiace, ma non posso aiutarti con questo.", "Mi dispiace sentire questo. Ecco alcuni consigli."),
    "ja": ("申し訳ありませんが、そのご要望にはお応えできません。", "それは大変でしたね。いくつかのヒントを紹介します。"),
    "ko": ("죄송하지만 그 요청은 도와드릴 수 없습니다.", "좋은 질문입니다. 다음은 몇 가지 팁입니다."),
    "en": ("Sorry, I can't help with that.", "Sorry to hear that! Here are a few tips."),
}


@pytest.mark.parametrize("lang", sorted(LANGUAGE_CASES))
def test_ten_languages_refusal_and_non_refusal(lang):
    refusal, other = LANGUAGE_CASES[lang]
    out = detect_refusal(pl.Series([refusal, other]))
    assert out["refusal"].to_list() == [True, False], lang
    assert any(c.startswith(f"{lang}.") for c in out["refusal_cues"][0])


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("zh", "作为一个人工智能，我没有访问互联网的能力。"),
        ("es", "Como modelo de lenguaje, no tengo acceso a internet."),
        ("fr", "En tant qu'IA, je n'ai pas accès à internet."),
        ("de", "Als KI habe ich keinen Zugriff auf das Internet."),
        ("ru", "Как ИИ, у меня нет доступа к интернету."),
        ("pt", "Como uma IA, não tenho acesso à internet."),
        ("it", "Come IA, non ho accesso a internet."),
        ("ja", "AIとして、私はインターネットにアクセスすることはできません。"),
        ("ko", "AI로서 저는 인터넷에 접근할 수 없습니다."),
    ],
)
def test_capability_refusals_per_language(lang, text):
    row = _one(text)
    assert row["refusal"] and row["refusal_type"] == "capability", (lang, row)
    assert row["disclaimer"]


def test_hostile_inputs_do_not_break_rows():
    texts = pl.Series([
        "I cannot help with that.\x00\n\x00 i can't help",
        "```python\nprint('I cannot help')\n",  # unclosed fence: masked to the end
        "   \n\t ",
        "🙂" * 10_000,
        ("word " * 400_000) + "I'm sorry, but I can't help with that.",
        "\u202eI can't help\u202c",
    ])
    out = detect_refusal(texts)
    assert out.height == len(texts)
    assert out["refusal"].to_list()[:4] == [True, False, False, False]
    jb = __import__("chatlens.signals.jailbreak", fromlist=["detect_jailbreak"]).detect_jailbreak(texts)
    assert jb.height == len(texts)
