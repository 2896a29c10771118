import pytest

from apps.agents.understanding import language
from apps.agents.understanding.language import detect_language, gloss, glossaries, read_message


@pytest.mark.parametrize(
    ("text", "language", "english"),
    [
        (
            "hola, ¿dónde está mi chaleco? lo pedí hace unos días",
            "es",
            "hello, where is my vest? it i ordered ago a few days",
        ),
        ("bonjour, l'adresse de livraison n'est pas bonne", "fr", "hello, the delivery address is not right"),
        ("wo ist meine Bestellung? ich brauche die Rechnung", "de", "where is my order? i need the invoice"),
        ("dov'è il mio zaino?", "it", "where is my backpack?"),
        ("quero devolver a minha caneca, chegou quebrada", "pt", "i want return my mug, arrived broken"),
        ("gdzie jest moja paczka? zamówiłam ją tydzień temu", "pl", "where is my package? i ordered it week ago"),
        ("chcę zwrócić kubek, przyszedł pęknięty", "pl", "i want return mug, arrived cracked"),
    ],
)
def test_a_message_in_another_language_is_read_through_its_glossary(text, language, english):
    # given a message in Spanish, French, German, Italian, Portuguese or Polish

    # when the message is read
    reading = read_message(text)

    # then its language is told and the local models read its English gloss
    assert (reading.language, reading.english, reading.foreign) == (language, english, True)


@pytest.mark.parametrize(
    "text",
    [
        "wheres my backpack?? its been forever",
        "hi my espreso machine came 3 days ago and it leaks water everywere, what do i do??",
        "the price dropped the day after i ordered, can i get the difference back?",
        "TW-100003",
        "ok",
        "do ya ship toCanada",
    ],
)
def test_english_and_too_short_to_tell_are_read_as_they_are(text):
    # given an English message with typos, a bare order number or an acknowledgement

    # when an English message, or one too short to tell, is read
    reading = read_message(text)

    # then it is English and read as written
    assert (reading.language, reading.english, reading.foreign) == ("en", text, False)


def test_words_the_glossary_lacks_and_order_numbers_stay_as_written():
    # given the Spanish glossary
    spanish = glossaries()["es"]

    # when a message naming a product by its own name and an order number is read through it
    english = gloss("¿dónde está mi Day Pack del pedido TW-100011?", spanish)

    # then the name and the number are kept
    assert english == "where is my Day Pack of the order TW-100011?"


def test_a_phrase_is_read_whole_only_within_one_clause():
    # given a phrase of the glossary ("no llega") cut by a comma
    spanish = glossaries()["es"]

    # when it is read
    english = gloss("no, llega mañana", spanish)

    # then its words are read one by one
    assert english == "no, arrives tomorrow"


def test_language_is_told_with_its_probability():
    # when a Spanish and an English request are told apart
    spanish, english = (
        detect_language("quiero devolver la chaqueta porque no me queda bien"),
        detect_language("i need my invoice"),
    )

    # then each is its language, surely
    assert spanish[0] == "es"
    assert spanish[1] > 0.98
    assert english[0] == "en"
    assert english[1] > 0.97


def test_every_glossary_says_in_its_language_that_the_reply_is_in_english(settings):
    # given only the local model configured for the specialists
    settings.SWITCHBOARD_AGENT_MODEL = "local"
    settings.SWITCHBOARD_AGENT_FALLBACKS = []

    # when a French message's reading is asked for its note
    note = read_message("bonjour, où en est ma commande ?").note("agent")

    # then the note is French, and English messages have none
    assert note == "(Je vous réponds en anglais.)"
    assert read_message("where is my order?").note("agent") == ""
    assert {g.language for g in glossaries().values()} == {"de", "es", "fr", "it", "pl", "pt"}


def test_a_message_close_to_several_languages_is_read_by_the_glossary_that_knows_its_words():
    # given a Spanish request the language model finds only 0.79 Spanish (Italian and Portuguese are close)
    text = "necesito la factura de mi pedido"

    # when it is read
    reading = read_message(text)

    # then the Spanish glossary, which knows every word, reads it
    assert (reading.language, reading.english) == ("es", "i need the invoice of my order")


def test_the_identifier_holds_only_its_languages_and_reads_as_the_library_restricted_to_them():
    # given the library's identifier restricted the library's way (it keeps the 142-language model beside)
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages([language.ENGLISH, *language.glossaries()])
    texts = ["hola, ¿dónde está mi mochila?", "Wo ist meine Bestellung?", "where is my order", "", "TW-100003"]

    # when
    identifier = language._identifier()

    # then it keeps the restricted columns only, and ranks every text the same
    assert identifier._full_model[0].shape == (reference.nb_ptc.shape[0], 1 + len(language.glossaries()))
    assert [identifier.rank(t) for t in texts] == [reference.rank(t) for t in texts]
