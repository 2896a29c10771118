import itertools

from apps.knowledge.chunking import (
    chunk_document,
    embedding_text,
    estimate_tokens,
    parse_document,
    parse_html,
    parse_markdown,
    parse_text,
    token_counter,
)

count = token_counter()


def test_token_counter_uses_the_minilm_wordpiece_tokenizer_without_special_tokens():
    # given / when / then
    assert count("Refunds are unrefundable!") == 9  # ref ##unds are un ##re ##fu ##nda ##ble !
    assert count("Hello world") == 2


def test_token_estimate_is_used_when_the_model_has_no_tokenizer_file(tmp_path):
    # given a model folder without tokenizer.json
    counter = token_counter(tmp_path)

    # when / then
    assert counter is estimate_tokens
    assert counter("one two three four five six seven eight nine ten") == 13


def test_markdown_sections_carry_their_heading_path_and_front_matter():
    # given
    text = (
        "---\ntitle: Returns\nurl: https://shop.example/help/returns\ntags: [returns, refunds]\n---\n"
        "# Return policy\n\nIntro paragraph.\n\n## Window\n\nThirty days.\n\n### Exceptions\n\nFinal sale.\n\n"
        "```\n# not a heading\n```\n\n## Fees\n\nA fee applies.\n"
    )

    # when
    parsed = parse_markdown(text)

    # then
    assert parsed.title == "Returns"
    assert parsed.url == "https://shop.example/help/returns"
    assert parsed.tags == ("returns", "refunds")
    assert [(s.heading_path, s.blocks) for s in parsed.sections] == [
        (("Return policy",), ("Intro paragraph.",)),
        (("Return policy", "Window"), ("Thirty days.",)),
        (("Return policy", "Window", "Exceptions"), ("Final sale.", "```\n# not a heading\n```")),
        (("Return policy", "Fees"), ("A fee applies.",)),
    ]


def test_chunks_respect_the_token_budget_and_overlap_within_a_section_but_never_cross_headings():
    # given a long section of numbered sentences and a short one
    sentences = " ".join(f"Sentence number {i} talks about parcel delivery times." for i in range(60))
    parsed = parse_markdown(f"# Guide\n\n## Long\n\n{sentences}\n\n## Short\n\nOne line only.\n")

    # when
    chunks = chunk_document(parsed, max_tokens=60, overlap_tokens=15, count=count)

    # then
    long_chunks = [c for c in chunks if c.heading_path == ("Guide", "Long")]
    assert len(long_chunks) > 5
    assert all(c.token_count <= 60 for c in chunks)
    assert all(c.token_count == count(c.text) for c in chunks)
    for previous, current in itertools.pairwise(long_chunks):
        last_sentence = previous.text.rsplit(". ", 1)[-1]
        assert current.text.startswith(last_sentence)  # the overlap carries the previous tail
    assert "Sentence number 59 talks" in long_chunks[-1].text
    assert chunks[-1].heading_path == ("Guide", "Short")
    assert chunks[-1].text == "One line only."
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_a_single_unbroken_paragraph_over_budget_is_split_by_words():
    # given
    parsed = parse_text("word " * 500)

    # when
    chunks = chunk_document(parsed, max_tokens=50, overlap_tokens=0, count=count)

    # then
    assert len(chunks) == 10
    assert all(c.token_count == 50 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == ["word"] * 500


def test_html_drops_page_chrome_and_turns_headings_into_sections():
    # given
    html = """<html><head><title>Shipping | Shop</title><link rel="canonical" href="https://shop.example/shipping">
    <style>.x{}</style><script>alert('x')</script></head><body><nav>Home | Cart</nav>
    <h1>Shipping</h1><p>We ship <b>fast</b>.</p><h2>Express</h2><ul><li>1-2 days</li><li>Tracked</li></ul>
    <footer>Copyright</footer></body></html>"""

    # when
    parsed = parse_html(html)

    # then
    assert parsed.title == "Shipping | Shop"
    assert parsed.url == "https://shop.example/shipping"
    assert [(s.heading_path, s.blocks) for s in parsed.sections] == [
        (("Shipping",), ("We ship fast.",)),
        (("Shipping", "Express"), ("- 1-2 days\n- Tracked",)),
    ]


def test_plain_text_takes_its_first_short_line_as_title():
    # given / when
    parsed = parse_text("Store hours\n\nWe open at nine.\n\nWe close at six.\n")

    # then
    assert parsed.title == "Store hours"
    assert parsed.sections[0].blocks == ("We open at nine.", "We close at six.")
    assert parse_text("We open at nine.").sections[0].blocks == ("We open at nine.",)


def test_embedding_text_prefixes_title_and_headings_once():
    # given / when / then
    text = embedding_text(title="Returns", heading_path=("Returns", "Fees"), text="A fee.")
    assert text == "Returns > Fees\n\nA fee."
    assert embedding_text(title="", heading_path=(), text="A fee.") == "A fee."
    assert embedding_text(title="A fee.", heading_path=(), text="A fee.") == "A fee."


def test_faq_shaped_content_becomes_one_section_per_question_and_answer():
    # given questions as bold lines, Q:/A: lines and plain question lines
    raw = (
        "# Shipping FAQ\n\nWe ship from Portland.\n\n**How long does delivery take?**\n\nThree to five days.\n\n"
        "Q: Can I ship abroad?\nA: Yes, to thirty countries.\n\nIs express faster?\n\nYes, one to two days.\n"
    )

    # when
    parsed = parse_document(raw, "markdown")

    # then
    assert [(s.heading_path, s.blocks) for s in parsed.sections] == [
        (("Shipping FAQ",), ("We ship from Portland.",)),
        (("Shipping FAQ", "How long does delivery take?"), ("Three to five days.",)),
        (("Shipping FAQ", "Can I ship abroad?"), ("Yes, to thirty countries.",)),
        (("Shipping FAQ", "Is express faster?"), ("Yes, one to two days.",)),
    ]


def test_a_question_without_an_answer_after_it_stays_text():
    # given / when
    parsed = parse_document("# Help\n\nIntro.\n\nQuestions?\n", "markdown")

    # then
    assert [(s.heading_path, s.blocks) for s in parsed.sections] == [(("Help",), ("Intro.", "Questions?"))]
