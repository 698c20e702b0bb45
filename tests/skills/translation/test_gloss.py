"""Word-by-word glosses: Chinese cut into words and looked up, English looked up through the reverse index."""

from __future__ import annotations

from skills.translation.gloss import SEPARATOR, en_to_zh, zh_to_en


def test_a_chinese_sentence_is_glossed_word_by_word_in_english() -> None:
    gloss = zh_to_en("我想吃不辣的面条")
    assert gloss.text == SEPARATOR.join(["I", "want", "eat", "not", "hot (spicy)", "'s", "noodles"])
    assert [w.word for w in gloss.words] == ["我", "想", "吃", "不", "辣", "的", "面条"]
    assert gloss.words[-1].pinyin == "miàntiáo" and gloss.unknown == []


def test_a_chinese_word_the_dictionary_lacks_is_read_in_pieces_or_kept() -> None:
    assert zh_to_en("请问附近有没有便利店").text == SEPARATOR.join(
        ["excuse me", "nearby", "is there", "convenience store"]
    )
    gloss = zh_to_en("我在WeWork等你")  # Latin letters pass as they are
    assert "WeWork" in gloss.text.split(SEPARATOR)


def test_an_english_sentence_is_glossed_in_chinese_naming_the_words_without_an_entry() -> None:
    gloss = en_to_zh("Where is the museum? I need two tickets for Zorblat")
    assert [w.gloss for w in gloss.words if w.gloss] == ["哪里", "是", "博物馆", "我", "需要", "两", "票", "给"]
    assert gloss.unknown == ["zorblat"]
    assert gloss.words[2].pinyin == "bówùguǎn"


def test_english_endings_and_two_word_senses() -> None:
    assert [w.gloss for w in en_to_zh("hot water").words] == ["热水"]
    assert [w.gloss for w in en_to_zh("stations").words] == ["站"]
    assert [w.gloss for w in en_to_zh("how much").words] == ["多少"]
