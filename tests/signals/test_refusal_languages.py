"""Refusal cues in the languages added for real logs (issue 10): nl ar tr pl vi id uk fa hi sv cs.

Why: real LMSYS / ShareGPT / WildChat logs hold refusals in many languages that had no lexicon, and
those were simply missed. Per language: typical capability and policy refusals (≥ 5 each) must be
refusals of the right type; compliant answers that open with an apology look-alike, a disclaimer
followed by an answer, "I can't stress enough", and a refusal phrase inside code must not be.
Sentences written by the chatlens authors in the style assistants use; none copied from a data set.
"""

from __future__ import annotations

import polars as pl
import pytest

from chatlens.signals.refusal import detect_refusal

CODE = "\n\n```python\nprint('{}')\n```\n"

CASES: dict[str, dict[str, list[str]]] = {
    "nl": {
        "capability": [
            "Het spijt me, maar ik heb geen toegang tot internet, dus ik kan die website niet openen.",
            "Als AI-taalmodel heb ik geen toegang tot actuele informatie over de beurskoersen van vandaag.",
            "Helaas kan ik geen links openen of webpagina's bekijken.",
            "Ik kan niet op het internet surfen om dat voor je op te zoeken.",
            "Mijn kennis loopt tot 2021, dus ik heb geen realtime gegevens over de verkiezingen.",
        ],
        "policy": [
            "Het spijt me, maar ik kan je daar niet mee helpen.",
            "Ik kan geen instructies geven voor het maken van wapens; dat is illegaal en gevaarlijk.",
            "Sorry, maar dit verzoek is in strijd met mijn richtlijnen. Ik kan dit niet schrijven.",
            "Ik moet dit verzoek helaas weigeren, omdat het onethisch is.",
            "Ik ga geen haatdragende tekst schrijven over deze groep mensen.",
        ],
        "negative": [
            "Het spijt me dat te horen. Hier zijn een paar tips die kunnen helpen:\n1. Rust\n2. Praat erover",
            "Als AI-taalmodel geef ik je graag een overzicht. Amsterdam is de hoofdstad van Nederland.",
            "Ik kan het niet genoeg benadrukken: maak altijd een back-up van je bestanden.",
            "Natuurlijk! Hier is de functie:" + CODE.format("ik kan je daar niet mee helpen"),
        ],
    },
    "sv": {
        "capability": [
            "Jag är ledsen, men jag har inte tillgång till internet och kan inte öppna länken.",
            "Som en AI-språkmodell har jag ingen tillgång till realtidsdata om vädret.",
            "Tyvärr kan jag inte surfa på webben för att kontrollera det.",
            "Jag kan inte se bilder, så jag kan inte beskriva fotot du skickade.",
            "Min kunskap sträcker sig bara till 2021, så jag har inte tillgång till de senaste resultaten.",
        ],
        "policy": [
            "Jag är ledsen, men jag kan inte hjälpa till med det.",
            "Jag kan inte ge instruktioner för att tillverka droger, eftersom det är olagligt.",
            "Tyvärr strider den begäran mot mina riktlinjer, så jag kan inte skriva den texten.",
            "Jag måste tyvärr avböja den här förfrågan.",
            "Jag kommer inte att skriva kränkande innehåll om en folkgrupp.",
        ],
        "negative": [
            "Jag är ledsen att höra det. Här är några saker du kan prova:\n1. Vila\n2. Prata med en vän",
            "Som en AI-språkmodell svarar jag gärna: Stockholm är Sveriges huvudstad.",
            "Jag kan inte nog betona hur viktigt det är att dricka vatten under träningen.",
            "Självklart! Här är koden:" + CODE.format("jag kan inte hjälpa till med det"),
        ],
    },
    "pl": {
        "capability": [
            "Przepraszam, ale nie mam dostępu do internetu, więc nie mogę otworzyć tej strony.",
            "Jako model językowy AI nie mam dostępu do informacji w czasie rzeczywistym.",
            "Niestety nie mogę przeglądać stron internetowych ani sprawdzać aktualnych cen.",
            "Nie jestem w stanie zobaczyć obrazów, więc nie opiszę tego zdjęcia.",
            "Moja wiedza kończy się na 2021 roku, więc nie mam dostępu do nowszych danych.",
        ],
        "policy": [
            "Przepraszam, ale nie mogę pomóc w tej sprawie.",
            "Nie mogę udzielić instrukcji dotyczących budowy broni, ponieważ jest to nielegalne.",
            "Ta prośba narusza moje zasady, więc nie mogę napisać takiego tekstu.",
            "Muszę odmówić wykonania tego polecenia.",
            "Nie będę tworzyć treści obrażających inne osoby.",
        ],
        "negative": [
            "Przykro mi to słyszeć. Oto kilka rzeczy, które mogą pomóc:\n1. Odpoczynek\n2. Rozmowa",
            "Jako model językowy AI chętnie odpowiem: Warszawa jest stolicą Polski.",
            "Nie mogę wystarczająco podkreślić, jak ważne jest regularne tworzenie kopii zapasowych.",
            "Oczywiście! Oto kod:" + CODE.format("nie mogę pomóc w tej sprawie"),
        ],
    },
    "cs": {
        "capability": [
            "Omlouvám se, ale nemám přístup k internetu, takže tu stránku nemohu otevřít.",
            "Jako jazykový model AI nemám přístup k aktuálním informacím o počasí.",
            "Bohužel nemohu procházet webové stránky ani ověřit aktuální ceny.",
            "Nemohu vidět obrázky, takže vám tu fotku nepopíšu.",
            "Moje znalosti končí v roce 2021, nemám přístup k novějším údajům.",
        ],
        "policy": [
            "Omlouvám se, ale s tím vám nemohu pomoci.",
            "Nemohu poskytnout návod na výrobu zbraně, protože je to nezákonné.",
            "Tento požadavek je v rozporu s mými zásadami, proto ho nemohu splnit.",
            "Musím tuto žádost odmítnout.",
            "Nebudu psát urážlivý obsah o jiných lidech.",
        ],
        "negative": [
            "To je mi líto, že to slyším. Tady je pár tipů:\n1. Odpočinek\n2. Procházka",
            "Jako jazykový model AI rád odpovím: Praha je hlavní město České republiky.",
            "Nemohu dostatečně zdůraznit, jak důležité je zálohovat data.",
            "Jistě! Zde je kód:" + CODE.format("nemohu vám s tím pomoci"),
        ],
    },
    "tr": {
        "capability": [
            "Üzgünüm, ancak internete erişimim yok, bu yüzden bağlantıyı açamam.",
            "Bir yapay zeka dil modeli olarak gerçek zamanlı bilgilere erişimim yok.",
            "Maalesef web sitelerine erişemiyorum ve güncel fiyatları kontrol edemiyorum.",
            "İnternette gezinemem, bu nedenle o sayfayı göremiyorum.",
            "Bilgilerim 2021 yılı ile sınırlıdır; güncel sonuçlara erişimim yok.",
        ],
        "policy": [
            "Üzgünüm, ancak bu konuda yardımcı olamam.",
            "Silah yapımı hakkında bilgi veremem çünkü bu yasa dışı ve tehlikelidir.",
            "Bu istek yönergelerime aykırı olduğu için bu metni yazamam.",
            "Maalesef bu isteği yerine getiremem.",
            "Başkalarını aşağılayan içerik oluşturamam.",
        ],
        "negative": [
            "Bunu duyduğuma üzüldüm. İşte yardımcı olabilecek birkaç öneri:\n1. Dinlenin\n2. Konuşun",
            "Bir yapay zeka olarak memnuniyetle yanıtlıyorum: Türkiye'nin başkenti Ankara'dır.",
            "Düzenli yedek almanın önemini yeterince vurgulayamam.",
            "Elbette! İşte kod:" + CODE.format("bu konuda yardımcı olamam"),
        ],
    },
    "id": {
        "capability": [
            "Maaf, saya tidak memiliki akses ke internet, jadi saya tidak dapat membuka tautan itu.",
            "Sebagai model bahasa AI, saya tidak memiliki akses ke informasi terkini.",
            "Sayangnya saya tidak dapat menjelajah web untuk memeriksa harga saat ini.",
            "Saya tidak bisa melihat gambar, jadi saya tidak dapat menjelaskan foto tersebut.",
            "Pengetahuan saya terbatas hingga 2021, dan saya tidak memiliki akses ke data terbaru.",
        ],
        "policy": [
            "Maaf, saya tidak dapat membantu dengan permintaan tersebut.",
            "Saya tidak bisa memberikan cara membuat senjata karena itu melanggar hukum dan berbahaya.",
            "Permintaan ini melanggar kebijakan saya, jadi saya tidak akan menulis konten itu.",
            "Saya harus menolak permintaan ini.",
            "Saya tidak akan membuat konten yang menghina orang lain.",
        ],
        "negative": [
            "Saya sedih mendengar hal itu. Berikut beberapa tips:\n1. Istirahat\n2. Bicara dengan teman",
            "Sebagai model bahasa AI, dengan senang hati saya jawab: ibu kota Indonesia adalah Jakarta.",
            "Saya tidak bisa cukup menekankan pentingnya mencadangkan data Anda.",
            "Tentu! Berikut kodenya:" + CODE.format("saya tidak dapat membantu"),
        ],
    },
    "vi": {
        "capability": [
            "Xin lỗi, nhưng tôi không có quyền truy cập internet nên không thể mở liên kết đó.",
            "Là một mô hình ngôn ngữ AI, tôi không thể truy cập thông tin theo thời gian thực.",
            "Rất tiếc, tôi không thể duyệt web để kiểm tra giá hiện tại.",
            "Tôi không thể xem hình ảnh, vì vậy tôi không mô tả được bức ảnh này.",
            "Kiến thức của tôi chỉ đến năm 2021, tôi không có dữ liệu theo thời gian thực.",
        ],
        "policy": [
            "Xin lỗi, nhưng tôi không thể giúp bạn với yêu cầu này.",
            "Tôi không thể cung cấp hướng dẫn chế tạo vũ khí vì điều đó là bất hợp pháp.",
            "Yêu cầu này vi phạm chính sách của tôi, vì vậy tôi sẽ không viết nội dung đó.",
            "Tôi phải từ chối yêu cầu này.",
            "Tôi sẽ không tạo nội dung xúc phạm người khác.",
        ],
        "negative": [
            "Tôi rất tiếc khi nghe điều đó. Dưới đây là một vài gợi ý:\n1. Nghỉ ngơi\n2. Trò chuyện",
            "Là một mô hình ngôn ngữ AI, tôi xin trả lời: thủ đô của Việt Nam là Hà Nội.",
            "Tôi không thể nhấn mạnh đủ tầm quan trọng của việc sao lưu dữ liệu.",
            "Chắc chắn rồi! Đây là mã:" + CODE.format("tôi không thể giúp bạn"),
        ],
    },
    "uk": {
        "capability": [
            "Вибачте, але я не маю доступу до інтернету, тому не можу відкрити це посилання.",
            "Як мовна модель ШІ, я не маю доступу до інформації в реальному часі.",
            "На жаль, я не можу переглядати вебсайти й перевіряти поточні ціни.",
            "Я не можу бачити зображення, тож не опишу цю фотографію.",
            "Мої знання обмежені 2021 роком, тому я не маю доступу до новіших даних.",
        ],
        "policy": [
            "Вибачте, але я не можу допомогти з цим.",
            "Я не можу надати інструкції з виготовлення зброї, бо це протиправно й небезпечно.",
            "Цей запит порушує мої правила, тому я не буду писати такий текст.",
            "Я змушений відмовитися від виконання цього запиту.",
            "Я не буду створювати образливий контент про інших людей.",
        ],
        "negative": [
            "Мені дуже шкода це чути. Ось кілька порад:\n1. Відпочиньте\n2. Поговоріть з другом",
            "Як мовна модель ШІ, я охоче відповім: столиця України — Київ.",
            "Не можу достатньо наголосити, наскільки важливо робити резервні копії.",
            "Звичайно! Ось код:" + CODE.format("я не можу допомогти з цим"),
        ],
    },
    "ar": {
        "capability": [
            "عذرًا، ليس لدي إمكانية الوصول إلى الإنترنت، لذلك لا يمكنني فتح هذا الرابط.",
            "بصفتي نموذج لغة ذكاء اصطناعي، ليس لدي القدرة على تصفح المواقع.",
            "للأسف، لا أستطيع رؤية الصور، لذا لا يمكنني وصف هذه الصورة.",
            "معرفتي محدودة حتى عام 2021، وليس لدي معلومات محدثة عن الأسعار.",
            "أنا آسف، لكن لا يمكنني الوصول إلى الملفات على جهازك.",
        ],
        "policy": [
            "عذرًا، لا أستطيع المساعدة في ذلك.",
            "أنا آسف، لكن لا يمكنني تقديم تعليمات لصنع الأسلحة لأن ذلك غير قانوني وخطير.",
            "هذا الطلب يتعارض مع سياساتي، لذلك لا يمكنني كتابة هذا المحتوى.",
            "يجب أن أرفض هذا الطلب.",
            "لا يمكنني إنشاء محتوى يسيء إلى الآخرين.",
        ],
        "negative": [
            "أنا آسف لسماع ذلك. إليك بعض النصائح:\n1. خذ قسطًا من الراحة\n2. تحدث مع صديق",
            "بصفتي نموذج لغة ذكاء اصطناعي، يسعدني أن أجيب: عاصمة مصر هي القاهرة.",
            "لا أستطيع التأكيد بما فيه الكفاية على أهمية النسخ الاحتياطي.",
            "بالتأكيد! إليك الكود:" + CODE.format("لا أستطيع المساعدة في ذلك"),
        ],
    },
    "fa": {
        "capability": [
            "متاسفم، اما من به اینترنت دسترسی ندارم و نمی‌توانم این لینک را باز کنم.",
            "به عنوان یک مدل زبانی هوش مصنوعی، به اطلاعات لحظه‌ای دسترسی ندارم.",
            "متأسفانه نمی‌توانم تصاویر را ببینم، پس این عکس را توصیف نمی‌کنم.",
            "دانش من تا سال ۲۰۲۱ محدود است و به داده‌های جدیدتر دسترسی ندارم.",
            "من نمي توانم صفحات وب را مرور كنم.",
        ],
        "policy": [
            "متاسفم، اما نمی‌توانم در این زمینه کمک کنم.",
            "نمی‌توانم دستور ساخت سلاح را ارائه دهم، زیرا این کار غیرقانونی و خطرناک است.",
            "این درخواست خلاف سیاست‌های من است، بنابراین نمی‌توانم چنین متنی بنویسم.",
            "من قادر به انجام این درخواست نیستم.",
            "از نوشتن محتوای توهین‌آمیز درباره دیگران خودداری می‌کنم.",
        ],
        "negative": [
            "از شنیدن این موضوع متاسفم. در اینجا چند پیشنهاد آمده است:\n1. استراحت\n2. گفتگو",
            "به عنوان یک مدل زبانی هوش مصنوعی، با کمال میل پاسخ می‌دهم: پایتخت ایران تهران است.",
            "نمی‌توانم به اندازه کافی تأکید کنم که پشتیبان‌گیری چقدر مهم است.",
            "البته! در اینجا کد آمده است:" + CODE.format("نمی‌توانم در این زمینه کمک کنم"),
        ],
    },
    "hi": {
        "capability": [
            "मुझे खेद है, लेकिन मेरे पास इंटरनेट तक पहुंच नहीं है, इसलिए मैं यह लिंक नहीं खोल सकता।",
            "एक एआई भाषा मॉडल के रूप में, मैं वेबसाइट ब्राउज़ नहीं कर सकता।",
            "दुर्भाग्य से, मैं तस्वीरें देख नहीं सकता, इसलिए इस फोटो का वर्णन नहीं कर पाऊंगा।",
            "मेरा ज्ञान 2021 तक सीमित है, मेरे पास ताज़ा जानकारी तक पहुँच नहीं है।",
            "मैं भविष्यवाणी नहीं कर सकता कि कल शेयर बाज़ार में क्या होगा।",
        ],
        "policy": [
            "मुझे खेद है, लेकिन मैं इसमें आपकी मदद नहीं कर सकता।",
            "मैं हथियार बनाने के निर्देश नहीं दे सकता क्योंकि यह अवैध और खतरनाक है।",
            "यह अनुरोध मेरी नीतियों का उल्लंघन करता है, इसलिए मैं यह सामग्री नहीं लिख सकता।",
            "मैं इस अनुरोध को पूरा करने में असमर्थ हूं।",
            "क्षमा करें, मैं दूसरों का अपमान करने वाली सामग्री नहीं बना सकती।",
        ],
        "negative": [
            "यह सुनकर मुझे बहुत दुख हुआ। यहाँ कुछ सुझाव हैं:\n1. आराम करें\n2. किसी दोस्त से बात करें",
            "एक एआई भाषा मॉडल के रूप में, मैं खुशी से बताता हूं: भारत की राजधानी नई दिल्ली है।",
            "मैं ज़ोर देकर पर्याप्त नहीं कह सकता कि बैकअप लेना कितना ज़रूरी है।",
            "ज़रूर! यहाँ कोड है:" + CODE.format("मैं इसमें आपकी मदद नहीं कर सकता"),
        ],
    },
}

POSITIVE = [
    (lang, kind, text)
    for lang, c in CASES.items()
    for kind in ("capability", "policy")
    for text in c[kind]
]
NEGATIVE = [(lang, text) for lang, c in CASES.items() for text in c["negative"]]


def test_every_language_has_enough_cases() -> None:
    for lang, c in CASES.items():
        assert len(c["capability"]) >= 5, lang
        assert len(c["policy"]) >= 5, lang
        assert len(c["negative"]) >= 4, lang


@pytest.mark.parametrize(
    ("lang", "kind", "text"), POSITIVE, ids=[f"{x[0]}-{x[1]}-{i}" for i, x in enumerate(POSITIVE)]
)
def test_refusal_and_type(lang: str, kind: str, text: str) -> None:
    out = detect_refusal(pl.Series([text])).row(0, named=True)
    assert out["refusal"], (lang, out["refusal_score"], out["refusal_cues"])
    assert out["refusal_type"] == kind, (lang, out["refusal_type"], out["refusal_cues"])
    assert any(c.startswith(f"{lang}.") for c in out["refusal_cues"]), out["refusal_cues"]


@pytest.mark.parametrize(
    ("lang", "text"), NEGATIVE, ids=[f"{x[0]}-neg-{i}" for i, x in enumerate(NEGATIVE)]
)
def test_not_a_refusal(lang: str, text: str) -> None:
    out = detect_refusal(pl.Series([text])).row(0, named=True)
    assert not out["refusal"], (lang, out["refusal_score"], out["refusal_cues"])


def test_prefilter_and_backends_agree_on_these_languages() -> None:
    texts = pl.Series([t for *_, t in POSITIVE] + [t for _, t in NEGATIVE])
    fast = detect_refusal(texts)
    assert fast.equals(detect_refusal(texts, prefilter=False))
    assert fast.equals(detect_refusal(texts, backend="re"))


#: Text in languages that had a lexicon before: no cue of a new lexicon may fire on it (a Turkish
#: "illegal" and a Dutch bare "excuses" once did, on English).
OTHER_LANGUAGES = [
    "I cannot provide advice on illegal or harmful activities.",
    "No excuses, just results. Sorry, but I can't help with that.",
    "As an AI language model, I don't have access to the internet. Absolut sure? Ya, here it is.",
    "Lo siento, pero no puedo ayudarte con eso porque es ilegal.",
    "Desculpe, mas não posso ajudar com isso; é ilegal e perigoso.",
    "Извините, но я не могу помочь с этим. Это незаконно и неэтично.",
    "Je suis désolé, mais je ne peux pas vous aider avec cela.",
    "Es tut mir leid, aber ich kann dir dabei nicht helfen. Das ist illegal.",
    "Mi dispiace, ma non posso aiutarti con questa richiesta.",
    "抱歉，我无法帮助你完成这个请求。",
]
NEW_LEXICONS = tuple(f"{lang}." for lang in CASES)


@pytest.mark.parametrize("text", OTHER_LANGUAGES)
def test_new_lexicons_stay_silent_on_other_languages(text: str) -> None:
    cues = detect_refusal(pl.Series([text]))["refusal_cues"][0].to_list()
    assert not [c for c in cues if c.startswith(NEW_LEXICONS)], cues
