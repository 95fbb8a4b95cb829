"""A corpus of realistic Editorial Kaltim articles for the caption tests.

Each case is an article as the feed reader builds it (``content:encoded`` and the RSS
description as WordPress writes them, categories first then tags) together with what an
editor expects from it: the exact summary, the hashtags, whether it is an advertorial,
and what the photo shows. The markup follows what WordPress and its usual plugins emit:
wpautop paragraphs, Gutenberg blocks and comments, classic ``div.wp-caption``, Inline
Related Posts ("Baca  <judul>"), Jetpack sharing and related posts, Yoast's "The post …
appeared first on …" footer.

The first case is the seed article (``/work/shared/seed/``) as its feed would carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.articles import Article, ImageRef

SITE = "https://editorialkaltim.com"


@dataclass(frozen=True)
class Case:
    """One article and what its caption and alt text must say."""

    name: str
    article: Article
    summary: str
    hashtags: tuple[str, ...]
    advertorial: str | None = None
    photo: str = ""  # the photo description the renderer passes to alt_text
    photo_shown: str = ""  # what the alt text must say about the photo ("" = nothing)
    headline: str | None = None  # the card's headline, when it differs from the title
    link: str | None = None  # the expected caption link, when the URL is unusual
    notes: tuple[str, ...] = field(default=())


def _article(
    slug: str, title: str, content: str = "", *, categories: tuple[str, ...] = (),
    description: str = "", link: str | None = None, author: str | None = "Redaksi",
    published: datetime = datetime(2024, 10, 28, 2, 15, tzinfo=UTC),
    images: tuple[ImageRef, ...] = (),
) -> Article:
    return Article(
        key=f"editorialkaltim.com#{abs(hash(slug)) % 100000}",
        feed="utama",
        link=link or f"{SITE}/{slug}/",
        title=title,
        author=author,
        published=published,
        categories=categories,
        description_html=description,
        content_html=content,
        images=images,
    )


def _irp(slug: str, title: str) -> str:
    """An Inline Related Posts box, as the plugin writes it between paragraphs."""
    return (
        '<div style="clear:both; margin-top:0em; margin-bottom:1em;">'
        f'<a href="{SITE}/{slug}/" target="_blank" rel="dofollow" class="u5e9a">'
        "<!-- INLINE RELATED POSTS 1/3 //--><style> .u5e9a { padding:0px; margin: 0; "
        "padding-top:1em!important; } .u5e9a:active, .u5e9a:hover { opacity: 1; }</style>"
        '<div class="centered-text-area"><div class="centered-text" style="flex: 1;">'
        '<div class="u5e9a-content"><span class="ctaText">Baca</span>&nbsp; '
        f'<span class="postTitle">{title}</span></div></div></div>'
        '<div class="ctaButton"></div></a></div>'
    )


def _yoast_footer(slug: str, title: str) -> str:
    return (
        f'<p>The post <a href="{SITE}/{slug}/">{title}</a> appeared first on '
        f'<a href="{SITE}">Editorial Kaltim</a>.</p>\n'
    )


SEED_CONTENT = (
    '<figure class="wp-block-image size-large"><img decoding="async" width="1024" '
    'height="576" src="https://editorialkaltim.com/wp-content/uploads/2024/10/bimtek-'
    'pilkada-1024x576.jpg" alt="" class="wp-image-40011"/><figcaption class="wp-element-'
    'caption">Bimbingan Teknis (Bimtek) bertajuk &#8220;Mitigasi dan Penanganan Konflik '
    "Sosial pada Penyelenggaraan Pilkada 2024&#8221;</figcaption></figure>\n"
    "<p><strong>Editorialkaltim.com</strong> &#8211; Mengantisipasi potensi konflik dalam "
    "Pilkada serentak 2024, Pemerintah Kabupaten Kutai Timur (Pemkab Kutim) bekerja sama "
    "dengan Smart Academy mengadakan Bimbingan Teknis (Bimtek) bertajuk &#8220;Mitigasi "
    "dan Penanganan Konflik Sosial pada Penyelenggaraan Pilkada 2024&#8221; di Hotel "
    "Harris, Samarinda pada Senin (28/10/2024). Acara dibuka oleh Sekretaris Kabupaten "
    "(Seskab) Kutim, Rizali Hadi, yang menekankan pentingnya persiapan dalam menjaga "
    "kondusivitas Pilkada di Kutim.</p>\n"
    "<p>Rizali Hadi mengatakan bahwa pemetaan potensi konflik dan persiapan strategi yang "
    "tepat adalah kunci untuk menjaga stabilitas selama pelaksanaan Pilkada. &#8220;Kami "
    "berupaya menyiapkan langkah-langkah konkret, tidak hanya pencegahan tapi juga "
    "penanganan cepat jika terjadi konflik,&#8221; ujarnya saat memberikan sambutan.</p>\n"
    + _irp("bupati-ardiansyah-rayakan-keberagaman",
           "Bupati Ardiansyah Rayakan Keberagaman di Pesta Panen Kensedan Dayak Basap")
    + "\n<p>Fokus utama dari Bimtek ini adalah membekali peserta dengan strategi mitigasi "
    "dan teknik penanganan konflik efektif. Kegiatan ini, yang melibatkan aparat keamanan, "
    "tokoh masyarakat, dan berbagai pihak terkait, diharapkan dapat memperkuat kerjasama "
    "dan menciptakan iklim kondusif selama Pilkada.</p>\n"
    "<p>Selama Bimtek yang berlangsung hingga 31 Oktober 2024, peserta mendapatkan "
    "pembekalan tentang teknik mitigasi konflik dan komunikasi efektif, serta melakukan "
    "simulasi penanganan potensi gangguan keamanan. &#8220;Ini adalah kesempatan untuk "
    "semua pemangku kepentingan di Kutim untuk meningkatkan kemampuan dalam menghadapi "
    "dan mengelola konflik sosial,&#8221; kata Rizali.</p>\n"
    + _irp("usai-meninjau-asrama-mahasiswa-kutim",
           "Usai Meninjau Asrama Mahasiswa Kutim di Makassar, Yan Sebut Kondisinya Parah "
           "Sekali")
    + "\n<p>Menurut perwakilan Smart Academy, kesuksesan Pilkada tidak hanya bergantung "
    "pada kesiapan teknis, tetapi juga pada kestabilan situasi sosial. &#8220;Dengan "
    "pelaksanaan Bimtek ini, kami optimis Pilkada Kutim akan berlangsung damai dan "
    "lancar,&#8221; ungkapnya.</p>\n"
    "<p>Rizali Hadi menutup dengan harapan bahwa pelatihan ini akan menghasilkan Pilkada "
    "yang aman dan damai, tanpa insiden yang mengganggu. &#8220;Kami berharap inisiatif "
    "ini menjadi model bagi daerah lain dalam menghadapi Pilkada,&#8221; tutupnya dengan "
    "optimisme. (Roro/adv)</p>\n"
    + _irp("dp3a-kutim-gelar-bimtek-aplikasi-srikandi",
           "DP3A Kutim Gelar Bimtek Aplikasi Sistem Informasi Kearsipan Dinamis "
           "Terintegrasi")
    + "\n<p>Dapatkan update berita pilihan dan breaking news setiap hari dari "
    "editorialkaltim.com. Follow instagram &#8220;editorialkaltim&#8221;, caranya klik "
    'link <a href="https://www.instagram.com/editorialkaltimcom/">https://www.instagram.'
    "com/editorialkaltimcom/</a> untuk mendapatkan informasi terkini lainnya.</p>\n"
    "<h3>Related Articles</h3>\n"
    '<p><a href="#top">Back to top button</a></p>\n'
)

SEED_SUMMARY = (
    "Mengantisipasi potensi konflik dalam Pilkada serentak 2024, Pemerintah Kabupaten "
    "Kutai Timur (Pemkab Kutim) bekerja sama dengan Smart Academy mengadakan Bimbingan "
    "Teknis (Bimtek) bertajuk “Mitigasi dan Penanganan Konflik Sosial pada "
    "Penyelenggaraan Pilkada 2024” di Hotel Harris, Samarinda pada Senin (28/10/2024)."
)

CASES: list[Case] = [
    Case(
        name="seed_bimtek_pilkada_kutim",
        article=_article(
            "jelang-pilkada-2024-pemkab-kutim-persiapkan-mitigasi",
            "Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan Konflik "
            "Sosial",
            SEED_CONTENT,
            categories=("Kutim", "Pilkada 2024", "Pemkab Kutim", "konflik sosial"),
            author="Roro",
        ),
        summary=SEED_SUMMARY,
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#Pilkada2024",
                  "#PemkabKutim"),
        advertorial='byline "(Roro/adv)"',
        photo="Bimbingan Teknis (Bimtek) bertajuk “Mitigasi dan Penanganan Konflik Sosial "
              "pada Penyelenggaraan Pilkada 2024”",
        photo_shown="Bimbingan Teknis (Bimtek) bertajuk “Mitigasi dan Penanganan Konflik "
                    "Sosial pada Penyelenggaraan Pilkada 2024”.",
        notes=("the seed: figure caption, IRP 'Baca' boxes, dateline, (Roro/adv), "
               "follow-us promo, Related Articles, Back to top",),
    ),
    Case(
        name="sangatta_dateline_and_baca_juga",
        article=_article(
            "bupati-kutim-resmikan-puskesmas-sangatta-utara",
            "Bupati Kutim Resmikan Gedung Baru Puskesmas Sangatta Utara",
            "<p><strong>SANGATTA, editorialkaltim.com</strong> &#8211; Bupati Kutai Timur "
            "Ardiansyah Sulaiman meresmikan gedung baru Puskesmas Sangatta Utara, Selasa "
            "(29/10/2024). Gedung dua lantai itu dibangun dengan anggaran Rp 8,7 miliar dari "
            "APBD Kutim 2024.</p>\n"
            "<p><strong>Baca juga:</strong> <a href=\"https://editorialkaltim.com/rsud-"
            "kudungga-tambah-ruang-icu/\">RSUD Kudungga Tambah Ruang ICU</a></p>\n"
            "<p>Menurut Ardiansyah, puskesmas tersebut akan melayani lebih dari 40 ribu warga "
            "di lima desa.</p>\n",
            categories=("Kutim", "Kesehatan", "Puskesmas"),
        ),
        summary="Bupati Kutai Timur Ardiansyah Sulaiman meresmikan gedung baru Puskesmas "
                "Sangatta Utara, Selasa (29/10/2024). Gedung dua lantai itu dibangun dengan "
                "anggaran Rp 8,7 miliar dari APBD Kutim 2024.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#Kesehatan", "#Puskesmas"),
    ),
    Case(
        name="all_caps_headline_samarinda_flood",
        article=_article(
            "banjir-rendam-12-rt-di-samarinda",
            "BANJIR RENDAM 12 RT DI SAMARINDA, BPBD SIAGAKAN PERAHU KARET",
            "<p>SAMARINDA &#8211; Hujan deras sejak Minggu malam membuat 12 RT di Kecamatan "
            "Sungai Pinang terendam banjir setinggi 1,2 meter. Sedikitnya 1.500 warga "
            "terdampak dan sebagian mengungsi ke masjid terdekat.</p>\n"
            "<p>Kepala Pelaksana BPBD Samarinda mengatakan timnya menyiagakan enam perahu "
            "karet.</p>\n",
            categories=("SAMARINDA", "BANJIR SAMARINDA", "BPBD"),
        ),
        summary="Hujan deras sejak Minggu malam membuat 12 RT di Kecamatan Sungai Pinang "
                "terendam banjir setinggi 1,2 meter. Sedikitnya 1.500 warga terdampak dan "
                "sebagian mengungsi ke masjid terdekat.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Samarinda", "#BanjirSamarinda", "#BPBD"),
        headline="BANJIR RENDAM 12 RT DI SAMARINDA, BPBD SIAGAKAN PERAHU KARET",
    ),
    Case(
        name="entities_and_double_escaping",
        article=_article(
            "pemprov-kejar-target-investasi",
            "Pemprov “Kejar” Target Investasi Rp 60 Triliun di Sektor Hilirisasi & Energi",
            "<p>Editorialkaltim.com &#8211; Pemerintah Provinsi Kalimantan Timur "
            "&#8220;mengejar&#8221; target investasi Rp&nbsp;60 triliun pada 2025, terutama "
            "di sektor hilirisasi &amp; energi baru. Kepala DPMPTSP Kaltim menyebut "
            "minat investor &amp;#8217;cukup tinggi&amp;#8217; sejak IKN dibangun.</p>\n",
            categories=("Ekonomi & Bisnis", "Investasi", "IKN"),
        ),
        summary="Pemerintah Provinsi Kalimantan Timur “mengejar” target investasi Rp 60 "
                "triliun pada 2025, terutama di sektor hilirisasi & energi baru. Kepala "
                "DPMPTSP Kaltim menyebut minat investor ’cukup tinggi’ sejak IKN dibangun.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#EkonomiBisnis", "#Investasi", "#IKN"),
    ),
    Case(
        name="emoji_in_title_and_body",
        article=_article(
            "kutim-juara-umum-mtq-ke-46",
            "🎉 Kutim Juara Umum MTQ ke-46 Kaltim 🏆",
            "<p>SANGATTA &#8211; Kafilah Kutai Timur keluar sebagai juara umum MTQ ke-46 "
            "tingkat Provinsi Kaltim di Balikpapan 🏆. Kutim mengumpulkan 11 medali emas, "
            "unggul dari Samarinda dan Balikpapan.</p>\n"
            "<p>Alhamdulillah, terima kasih atas doa seluruh masyarakat 🙏.</p>\n",
            categories=("Kutim", "MTQ ke-46", "🔥 Viral"),
        ),
        summary="Kafilah Kutai Timur keluar sebagai juara umum MTQ ke-46 tingkat Provinsi "
                "Kaltim di Balikpapan 🏆. Kutim mengumpulkan 11 medali emas, unggul dari "
                "Samarinda dan Balikpapan.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#MTQKe46", "#Viral"),
        headline="🎉 Kutim Juara Umum MTQ ke-46 Kaltim 🏆",
    ),
    Case(
        name="first_sentence_longer_than_budget",
        article=_article(
            "dprd-kaltim-sahkan-apbd-2025",
            "DPRD Kaltim Sahkan APBD 2025 Senilai Rp 21,3 Triliun",
            "<p>SAMARINDA &#8211; Dewan Perwakilan Rakyat Daerah (DPRD) Provinsi Kalimantan "
            "Timur dalam rapat paripurna ke-42 yang digelar di Gedung B Kantor DPRD Kaltim, "
            "Jalan Teuku Umar, Samarinda, pada Senin (25/11/2024) malam, akhirnya "
            "mengesahkan Rancangan Peraturan Daerah tentang Anggaran Pendapatan dan Belanja "
            "Daerah (APBD) Kaltim Tahun Anggaran 2025 senilai Rp 21,3 triliun, setelah "
            "melalui pembahasan panjang antara Badan Anggaran DPRD dan Tim Anggaran "
            "Pemerintah Daerah (TAPD) selama hampir tiga bulan, termasuk sejumlah rapat "
            "kerja dengan organisasi perangkat daerah yang berlangsung hingga larut malam "
            "dan beberapa kali diskors karena perbedaan pandangan soal porsi belanja "
            "infrastruktur.</p>\n"
            "<p>Ketua DPRD Kaltim memimpin langsung rapat tersebut.</p>\n",
            categories=("DPRD Kaltim", "APBD"),
        ),
        summary="Dewan Perwakilan Rakyat Daerah (DPRD) Provinsi Kalimantan Timur dalam rapat "
                "paripurna ke-42 yang digelar di Gedung B Kantor DPRD Kaltim, Jalan Teuku "
                "Umar, Samarinda, pada Senin (25/11/2024) malam, akhirnya mengesahkan "
                "Rancangan Peraturan Daerah tentang Anggaran Pendapatan dan Belanja Daerah "
                "(APBD) Kaltim Tahun Anggaran 2025 senilai Rp 21,3 triliun…",
        hashtags=("#EditorialKaltim", "#Kaltim", "#DPRDKaltim", "#APBD"),
    ),
    Case(
        name="very_long_body",
        article=_article(
            "laporan-khusus-jalan-rusak-kaltim",
            "Laporan Khusus: Ribuan Kilometer Jalan Rusak, Kaltim Butuh Rp 12 Triliun",
            "<p>BALIKPAPAN &#8211; Sepanjang 2.140 kilometer jalan provinsi di Kalimantan "
            "Timur, hampir sepertiganya dalam kondisi rusak. Dinas PUPR Kaltim memperkirakan "
            "perbaikannya butuh Rp 12 triliun.</p>\n"
            + "".join(
                f"<p>Di ruas ke-{i}, warga mengeluhkan lubang besar yang belum juga ditambal. "
                "Truk pengangkut batu bara disebut memperparah kerusakan setiap musim hujan, "
                "sementara anggaran pemeliharaan hanya cukup untuk tambal sulam.</p>\n"
                for i in range(1, 61)
            ),
            categories=("Infrastruktur", "Jalan Rusak", "PUPR"),
        ),
        summary="Sepanjang 2.140 kilometer jalan provinsi di Kalimantan Timur, hampir "
                "sepertiganya dalam kondisi rusak. Dinas PUPR Kaltim memperkirakan "
                "perbaikannya butuh Rp 12 triliun.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Infrastruktur", "#JalanRusak", "#PUPR"),
    ),
    Case(
        name="very_short_body_with_unspaced_dash",
        article=_article(
            "jalan-poros-sangatta-bengalon-dibuka",
            "Jalan Poros Sangatta–Bengalon Kembali Dibuka",
            "<p>Jalan poros Sangatta–Bengalon kembali bisa dilalui kendaraan.</p>",
            categories=("Kutim",),
        ),
        summary="Jalan poros Sangatta–Bengalon kembali bisa dilalui kendaraan.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur"),
    ),
    Case(
        name="no_body_description_fallback",
        article=_article(
            "dprd-kaltim-minta-pemprov-tuntaskan-honorer",
            "DPRD Kaltim Minta Pemprov Tuntaskan Nasib Tenaga Honorer",
            description=(
                "Editorialkaltim.com &#8211; Komisi I DPRD Kaltim meminta pemerintah provinsi "
                "menuntaskan nasib ribuan tenaga honorer sebelum akhir 2024. Menurut Ketua "
                "Komisi I, masih ada 3.200 honorer yang belum terdata dalam seleksi PPPK dan "
                "terancam [&hellip;]"
                + _yoast_footer("dprd-kaltim-minta-pemprov-tuntaskan-honorer",
                                "DPRD Kaltim Minta Pemprov Tuntaskan Nasib Tenaga Honorer")
            ),
            categories=("DPRD Kaltim", "Honorer", "PPPK"),
        ),
        summary="Komisi I DPRD Kaltim meminta pemerintah provinsi menuntaskan nasib ribuan "
                "tenaga honorer sebelum akhir 2024.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#DPRDKaltim", "#Honorer", "#PPPK"),
    ),
    Case(
        name="no_body_no_description",
        article=_article(
            "galeri-foto-festival-mahakam",
            "Galeri Foto: Semarak Festival Mahakam 2024",
            categories=("Galeri", "Berita"),
        ),
        summary="",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Galeri"),
        notes=("Berita maps to an empty hashtag in the test config: dropped",),
    ),
    Case(
        name="only_baca_juga_paragraphs",
        article=_article(
            "kumpulan-berita-pilkada-kukar",
            "Kumpulan Berita Pilkada Kukar Pekan Ini",
            "<p><strong>Baca juga:</strong> <a href=\"https://editorialkaltim.com/kpu-kukar-"
            "tetapkan-dpt/\">KPU Kukar Tetapkan DPT 580 Ribu Pemilih</a></p>\n"
            "<p><strong>Baca Juga</strong>: <a href=\"https://editorialkaltim.com/debat-"
            "pertama-pilkada-kukar/\">Debat Pertama Pilkada Kukar Digelar di Tenggarong</a></p>"
            "\n<p>Simak juga: <a href=\"https://editorialkaltim.com/bawaslu-kukar/\">Bawaslu "
            "Kukar Temukan 14 Pelanggaran APK</a></p>\n",
            description=(
                "Baca juga: KPU Kukar Tetapkan DPT 580 Ribu Pemilih Baca Juga: Debat Pertama "
                "Pilkada Kukar Digelar di Tenggarong [&hellip;]"
            ),
            categories=("Kukar", "Pilkada 2024"),
        ),
        summary="",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiKartanegara", "#Pilkada2024"),
    ),
    Case(
        name="advertorial_by_category",
        article=_article(
            "dprd-kaltim-serap-aspirasi-warga-berau",
            "DPRD Kaltim Serap Aspirasi Warga Berau Soal Air Bersih",
            "<p><strong>TANJUNG REDEB, Editorialkaltim.com</strong> &#8212; Anggota DPRD "
            "Kaltim dari daerah pemilihan Berau menggelar reses di Kelurahan Gunung Tabur, "
            "Sabtu (2/11/2024). Warga mengeluhkan pasokan air bersih yang sering terhenti.</p>"
            "\n<p>Aspirasi itu akan dibawa ke pembahasan APBD Perubahan.</p>\n",
            categories=("Advertorial", "DPRD Kaltim", "Berau"),
        ),
        summary="Anggota DPRD Kaltim dari daerah pemilihan Berau menggelar reses di Kelurahan "
                "Gunung Tabur, Sabtu (2/11/2024). Warga mengeluhkan pasokan air bersih yang "
                "sering terhenti.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Advertorial", "#DPRDKaltim", "#Berau"),
        advertorial='category "Advertorial"',
    ),
    Case(
        name="advertorial_by_configured_marker",
        article=_article(
            "pemkab-kukar-salurkan-bantuan-benih-padi",
            "Pemkab Kukar Salurkan 20 Ton Benih Padi ke Petani Muara Kaman",
            "<p>TENGGARONG &#8211; Pemerintah Kabupaten Kutai Kartanegara menyalurkan 20 ton "
            "benih padi unggul kepada 35 kelompok tani di Kecamatan Muara Kaman.</p>\n",
            categories=("Pariwara Kukar", "Pertanian"),
        ),
        summary="Pemerintah Kabupaten Kutai Kartanegara menyalurkan 20 ton benih padi unggul "
                "kepada 35 kelompok tani di Kecamatan Muara Kaman.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#PariwaraKukar", "#Pertanian"),
        advertorial='marker "Pariwara" in category "Pariwara Kukar"',
    ),
    Case(
        name="url_with_query_and_fragment",
        article=_article(
            "wali-kota-samarinda-tinjau-terowongan",
            "Wali Kota Samarinda Tinjau Progres Terowongan Selili",
            "<p>Samarinda &#8211; Wali Kota Samarinda meninjau progres pembangunan Terowongan "
            "Selili yang kini mencapai 92 persen.</p>\n",
            link="https://editorialkaltim.com/?p=40187&amp_v=1&utm_source=rss#respond",
            categories=("Samarinda", "Terowongan Selili"),
        ),
        summary="Wali Kota Samarinda meninjau progres pembangunan Terowongan Selili yang kini "
                "mencapai 92 persen.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Samarinda", "#TerowonganSelili"),
        link="https://editorialkaltim.com/?p=40187&amp_v=1&utm_source=instagram"
             "&utm_medium=social&utm_campaign=editorialkaltim-bot",
    ),
    Case(
        name="classic_wp_caption_shortcode",
        article=_article(
            "festival-erau-2024-resmi-dibuka",
            "Festival Erau 2024 Resmi Dibuka, Ribuan Warga Padati Tenggarong",
            '<div id="attachment_40215" style="width: 810px" class="wp-caption aligncenter">'
            '<img aria-describedby="caption-attachment-40215" decoding="async" '
            'class="size-large wp-image-40215" src="https://editorialkaltim.com/wp-content/'
            'uploads/2024/09/erau.jpg" alt="Festival Erau" width="800" height="533" />'
            '<p id="caption-attachment-40215" class="wp-caption-text">Sultan Kutai '
            "Kartanegara Ing Martadipura memukul gong tanda dibukanya Erau 2024 "
            "(Foto: Istimewa)</p></div>\n"
            "<p>TENGGARONG &#8211; Festival Erau Adat Kutai 2024 resmi dibuka di halaman "
            "Kedaton Kutai Kartanegara, Minggu (22/9/2024). Ribuan warga dan wisatawan "
            "memadati kawasan Tenggarong sejak pagi.</p>\n",
            categories=("Kukar", "Budaya", "Erau"),
            images=(ImageRef(url="https://editorialkaltim.com/wp-content/uploads/2024/09/"
                             "erau.jpg", source="content_img", alt="Festival Erau",
                             caption="Sultan Kutai Kartanegara Ing Martadipura memukul gong "
                                     "tanda dibukanya Erau 2024 (Foto: Istimewa)"),),
        ),
        summary="Festival Erau Adat Kutai 2024 resmi dibuka di halaman Kedaton Kutai "
                "Kartanegara, Minggu (22/9/2024). Ribuan warga dan wisatawan memadati "
                "kawasan Tenggarong sejak pagi.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiKartanegara", "#Budaya", "#Erau"),
        photo="Sultan Kutai Kartanegara Ing Martadipura memukul gong tanda dibukanya Erau "
              "2024 (Foto: Istimewa)",
        photo_shown="Sultan Kutai Kartanegara Ing Martadipura memukul gong tanda dibukanya "
                    "Erau 2024.",
    ),
    Case(
        name="antara_dateline_jetpack_sharing_and_related",
        article=_article(
            "bi-kaltim-siapkan-uang-tunai-natal",
            "BI Kaltim Siapkan Rp 4,8 Triliun Uang Tunai Jelang Natal dan Tahun Baru",
            "<p>Samarinda (ANTARA) - Bank Indonesia Perwakilan Kalimantan Timur menyiapkan "
            "uang tunai Rp 4,8 triliun untuk kebutuhan masyarakat selama Natal dan Tahun "
            "Baru. Jumlah itu naik 6 persen dibanding tahun lalu. (ant)</p>\n"
            '<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block '
            'sd-social sd-social-icon-text sd-sharing"><h3 class="sd-title">Bagikan ini:</h3>'
            '<div class="sd-content"><ul><li class="share-facebook"><a rel="nofollow" '
            'class="share-facebook sd-button" href="?share=facebook"><span>Facebook</span>'
            "</a></li></ul></div></div></div>\n"
            "<div id='jp-relatedposts' class='jp-relatedposts' ><h3 class=\"jp-relatedposts-"
            "headline\"><em>Terkait</em></h3></div>\n",
            categories=("Ekonomi", "Bank Indonesia"),
        ),
        summary="Bank Indonesia Perwakilan Kalimantan Timur menyiapkan uang tunai Rp 4,8 "
                "triliun untuk kebutuhan masyarakat selama Natal dan Tahun Baru. Jumlah itu "
                "naik 6 persen dibanding tahun lalu.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Ekonomi", "#BankIndonesia"),
    ),
    Case(
        name="gutenberg_blocks_embeds_and_subheads",
        article=_article(
            "bontang-kota-layak-anak",
            "Bontang Kembali Raih Predikat Kota Layak Anak Tingkat Nindya",
            "<!-- wp:paragraph -->\n<p>BONTANG &#8212; Pemerintah Kota Bontang kembali meraih "
            "predikat Kota Layak Anak (KLA) tingkat Nindya dari Kementerian PPPA.</p>\n"
            "<!-- /wp:paragraph -->\n\n<!-- wp:embed -->\n<figure class=\"wp-block-embed "
            "is-type-video is-provider-youtube wp-block-embed-youtube\"><div class=\"wp-block-"
            "embed__wrapper\">\nhttps://www.youtube.com/watch?v=Xy12abc\n</div></figure>\n"
            "<!-- /wp:embed -->\n\n<!-- wp:heading -->\n<h2 class=\"wp-block-heading\">Lima "
            "Klaster Dinilai</h2>\n<!-- /wp:heading -->\n\n<!-- wp:list -->\n<ul><li>Hak "
            "sipil dan kebebasan</li><li>Lingkungan keluarga</li></ul>\n<!-- /wp:list -->\n"
            '<blockquote class="instagram-media" data-instgrm-permalink="https://www.'
            'instagram.com/p/C9abc/"><a href="https://www.instagram.com/p/C9abc/">Lihat '
            "postingan ini di Instagram</a></blockquote><script async src=\"//www.instagram."
            "com/embed.js\"></script>\n"
            "<!-- wp:paragraph -->\n<p>Penghargaan diterima langsung Wali Kota Bontang.</p>\n"
            "<!-- /wp:paragraph -->\n",
            categories=("Bontang", "Kota Layak Anak"),
        ),
        summary="Pemerintah Kota Bontang kembali meraih predikat Kota Layak Anak (KLA) "
                "tingkat Nindya dari Kementerian PPPA. Penghargaan diterima langsung Wali "
                "Kota Bontang.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Bontang", "#KotaLayakAnak"),
    ),
    Case(
        name="short_lead_then_simak_lihat_terkait",
        article=_article(
            "warga-sangatta-temukan-buaya",
            "Warga Sangatta Temukan Buaya Sepanjang Tiga Meter di Parit",
            "<p>Sangatta &#8211; Warga geger.</p>\n"
            "<p>Simak juga: <a href=\"https://editorialkaltim.com/buaya-muara-bengalon/\">"
            "Buaya Muara Kembali Muncul di Bengalon</a></p>\n"
            "<p>Seekor buaya sepanjang tiga meter ditemukan di parit samping permukiman warga "
            "Jalan Pendidikan, Sangatta Utara, Rabu (30/10/2024) pagi.</p>\n"
            "<p>Lihat juga <a href=\"https://editorialkaltim.com/video-evakuasi-buaya/\">Video "
            "Evakuasi Buaya oleh Damkar Kutim</a></p>\n"
            "<p>Berita terkait: <a href=\"https://editorialkaltim.com/bksda/\">BKSDA Imbau "
            "Warga Waspada</a></p>\n",
            categories=("Kutim", "Peristiwa"),
        ),
        summary="Warga geger. Seekor buaya sepanjang tiga meter ditemukan di parit samping "
                "permukiman warga Jalan Pendidikan, Sangatta Utara, Rabu (30/10/2024) pagi.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#Peristiwa"),
    ),
    Case(
        name="title_repeated_as_first_paragraph",
        article=_article(
            "harga-cabai-di-balikpapan-naik",
            "Harga Cabai di Balikpapan Naik Dua Kali Lipat",
            "<p><strong>Harga Cabai di Balikpapan Naik Dua Kali Lipat</strong></p>\n"
            "<p>BALIKPAPAN &#8211; Harga cabai rawit di Pasar Klandasan naik dari Rp 60 ribu "
            "menjadi Rp 120 ribu per kilogram. Pedagang menyebut pasokan dari Sulawesi "
            "berkurang akibat cuaca.</p>\n",
            categories=("Balikpapan", "Ekonomi"),
        ),
        summary="Harga cabai rawit di Pasar Klandasan naik dari Rp 60 ribu menjadi Rp 120 "
                "ribu per kilogram. Pedagang menyebut pasokan dari Sulawesi berkurang akibat "
                "cuaca.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Balikpapan", "#Ekonomi"),
    ),
    Case(
        name="indonesian_abbreviations_and_numbers",
        article=_article(
            "rsud-kudungga-terima-alat-ct-scan",
            "RSUD Kudungga Terima Alat CT Scan Senilai Rp 2,5 Miliar",
            "<p>SANGATTA &#8211; Direktur RSUD Kudungga, dr. H. Anik Istiyandari, M.Kes., "
            "menerima alat CT Scan senilai Rp. 2,5 miliar di Jl. Soekarno-Hatta No. 1, "
            "Kab. Kutai Timur. Alat itu mampu melayani hingga 1.500 pemeriksaan per bulan. "
            "Sebelumnya pasien harus dirujuk ke Samarinda.</p>\n",
            categories=("Kutim", "Kesehatan", "RSUD Kudungga"),
        ),
        summary="Direktur RSUD Kudungga, dr. H. Anik Istiyandari, M.Kes., menerima alat CT "
                "Scan senilai Rp. 2,5 miliar di Jl. Soekarno-Hatta No. 1, Kab. Kutai Timur. "
                "Alat itu mampu melayani hingga 1.500 pemeriksaan per bulan.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#Kesehatan",
                  "#RSUDKudungga"),
    ),
    Case(
        name="mentions_and_hashtags_in_body",
        article=_article(
            "pemkab-kutim-luncurkan-kanal-aduan",
            "Pemkab Kutim Luncurkan Kanal Aduan Lewat Instagram",
            "<p>SANGATTA &#8211; Pemkab Kutim meluncurkan kanal aduan warga lewat akun "
            "Instagram @pemkabkutim dengan tagar #KutimHebat. Warga cukup menandai akun "
            "tersebut untuk melapor.</p>\n",
            categories=("Kutim", "Layanan Publik", "Media Sosial"),
        ),
        summary="Pemkab Kutim meluncurkan kanal aduan warga lewat akun Instagram @pemkabkutim "
                "dengan tagar KutimHebat. Warga cukup menandai akun tersebut untuk melapor.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#LayananPublik",
                  "#MediaSosial"),
        notes=("six hashtags would be one too many: the one in the text loses its #",),
    ),
    Case(
        name="messy_terms_normalised_and_capped",
        article=_article(
            "jumat-berkah-bagikan-sembako",
            "Jumat Berkah, Relawan Bagikan 500 Paket Sembako di Loa Janan",
            "<p>KUTAI KARTANEGARA &#8211; Relawan membagikan 500 paket sembako kepada warga "
            "Loa Janan, Jumat (1/11/2024).</p>\n",
            categories=("Uncategorized", "kaltim", "KALTIM", "2024", "Kutai Timur",
                        "Jum'at Berkah", "Covid-19"),
        ),
        summary="Relawan membagikan 500 paket sembako kepada warga Loa Janan, Jumat "
                "(1/11/2024).",
        hashtags=("#EditorialKaltim", "#Kaltim", "#KutaiTimur", "#JumatBerkah", "#Covid19"),
    ),
    Case(
        name="classic_editor_image_with_italic_caption",
        article=_article(
            "longsor-tutup-jalan-kubar",
            "Longsor Tutup Jalan Trans Kalimantan di Kutai Barat",
            "<p><img class=\"alignnone size-full wp-image-40301\" src=\"https://"
            "editorialkaltim.com/wp-content/uploads/2024/11/longsor.jpg\" alt=\"IMG_20241103_"
            "081522.jpg\" width=\"1280\" height=\"720\" /><br />\n<em>Material longsor "
            "menutup badan jalan di Kampung Linggang Bigung. (Foto: Dok. BPBD Kubar)</em></p>"
            "\n<p>KUTAI BARAT &#8211; Longsor menutup Jalan Trans Kalimantan di Kampung "
            "Linggang Bigung, Minggu (3/11/2024). Kendaraan dari Sendawar menuju Melak harus "
            "memutar sejauh 20 kilometer.</p>\n",
            categories=("Kubar", "Bencana"),
        ),
        summary="Longsor menutup Jalan Trans Kalimantan di Kampung Linggang Bigung, Minggu "
                "(3/11/2024). Kendaraan dari Sendawar menuju Melak harus memutar sejauh 20 "
                "kilometer.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Kubar", "#Bencana"),
        photo="IMG_20241103_081522.jpg",
        photo_shown="",
    ),
    Case(
        name="description_cut_inside_first_sentence",
        article=_article(
            "gubernur-kaltim-lantik-pj-bupati",
            "Gubernur Kaltim Lantik Tiga Penjabat Bupati",
            description=(
                "SAMARINDA &#8211; Gubernur Kalimantan Timur melantik tiga penjabat bupati "
                "di Pendopo Lamin Etam, Samarinda, yang akan memimpin daerah masing-masing "
                "hingga kepala daerah hasil Pilkada serentak 2024 dilantik, sekaligus "
                "meminta ketiganya menjaga netralitas aparatur sipil negara dan [&#8230;]"
            ),
            categories=("Pemprov Kaltim",),
        ),
        summary="Gubernur Kalimantan Timur melantik tiga penjabat bupati di Pendopo Lamin "
                "Etam, Samarinda, yang akan memimpin daerah masing-masing hingga kepala "
                "daerah hasil Pilkada serentak 2024 dilantik, sekaligus meminta ketiganya "
                "menjaga netralitas aparatur sipil negara…",
        hashtags=("#EditorialKaltim", "#Kaltim", "#PemprovKaltim"),
    ),
    Case(
        name="byline_with_credit_lines_and_date_parenthesis",
        article=_article(
            "disdik-kaltim-buka-pendaftaran-beasiswa",
            "Disdik Kaltim Buka Pendaftaran Beasiswa Kaltim Tuntas 2024",
            "<p>Penulis: Yuliani | Editor: Redaksi</p>\n"
            "<p>SAMARINDA, EDITORIALKALTIM.COM &#8211; Dinas Pendidikan Kaltim membuka "
            "pendaftaran Beasiswa Kaltim Tuntas mulai Senin (4/11/2024). Kuota tahun ini "
            "12.000 penerima (Rls/Red)</p>\n"
            "<p>Tags: beasiswa, pendidikan</p>\n",
            categories=("Pendidikan", "Beasiswa Kaltim Tuntas"),
        ),
        summary="Dinas Pendidikan Kaltim membuka pendaftaran Beasiswa Kaltim Tuntas mulai "
                "Senin (4/11/2024). Kuota tahun ini 12.000 penerima.",
        hashtags=("#EditorialKaltim", "#Kaltim", "#Pendidikan", "#BeasiswaKaltimTuntas"),
    ),
]
