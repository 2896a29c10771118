from apps.core.phrases import read_phrases

TABLE = {("donde", "esta"): "where is", ("pedido",): "order", ("mi",): "my", ("por", "favor"): ""}


def _read(words: list[tuple[str, str, str]]) -> str:
    return read_phrases(words, [w.lower() for _, w, _ in words], TABLE.get, max_phrase=4)


def test_the_longest_known_phrase_is_read_and_unknown_words_kept():
    # given
    words = [("¿", "Donde", ""), ("", "esta", ""), ("", "mi", ""), ("", "pedido", ""), ("", "TW-100003", "?")]
    # when
    reading = _read(words)
    # then
    assert reading == "¿where is my order TW-100003?"


def test_punctuation_inside_a_phrase_cuts_it():
    # given "donde, esta": the comma splits what would be one phrase
    words = [("", "donde", ","), ("", "esta", "")]
    # when
    reading = _read(words)
    # then
    assert reading == "donde, esta"


def test_a_phrase_read_as_nothing_is_dropped_with_its_punctuation_kept():
    # given
    words = [("", "pedido", ""), ("", "por", ""), ("", "favor", "!")]
    # when
    reading = _read(words)
    # then
    assert reading == "order!"
