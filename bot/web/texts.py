"""The desk's words in Bahasa Indonesia: statuses, actions, account states."""

from __future__ import annotations

from bot.models import AccountState, Status

STATUS_LABELS: dict[str, str] = {
    Status.SEEN: "tercatat",
    Status.FILTERED: "tersaring",
    Status.PENDING_APPROVAL: "menunggu persetujuan",
    Status.QUEUED: "antre",
    Status.PUBLISHING: "sedang diunggah",
    Status.POSTED: "terbit",
    Status.FAILED: "gagal",
    Status.SKIPPED: "dilewati",
    Status.EXPIRED: "kedaluwarsa",
}

STATUS_HELP: dict[str, str] = {
    Status.SEEN: "Sudah ada di feed saat pertama dibaca; dicatat, tidak diterbitkan.",
    Status.FILTERED: "Cocok dengan filter feed; alasannya menyebut aturannya.",
    Status.PENDING_APPROVAL: "Cocok dengan aturan persetujuan; menunggu keputusan Anda.",
    Status.QUEUED: "Menunggu gilirannya di jendela terbit.",
    Status.PUBLISHING: "Sedang diunggah ke Instagram.",
    Status.POSTED: "Sudah terbit.",
    Status.FAILED: "Bot menyerah; perlu dilihat manusia. Alasannya di bawah.",
    Status.SKIPPED: "Diputuskan tidak terbit.",
    Status.EXPIRED: "Sudah terlalu lama saat gilirannya tiba (max_age).",
}

STORY_LABELS: dict[str, str] = {
    "pending": "menunggu", "publishing": "sedang diunggah", "posted": "terbit",
    "failed": "gagal", "skipped": "dilewati",
}

ACCOUNT_LABELS: dict[str, str] = {
    AccountState.ACTIVE: "aktif",
    AccountState.COOLDOWN: "jeda",
    AccountState.STOPPED: "berhenti",
}

# (action, button label, button style); the core still decides, and says no when the
# post moved on meanwhile.
ACTIONS_BY_STATUS: dict[str, tuple[tuple[str, str, str], ...]] = {
    Status.PENDING_APPROVAL: (("approve", "Setujui", "primary"), ("skip", "Lewati", "danger")),
    Status.QUEUED: (("publish", "Terbitkan sekarang", "primary"), ("retry", "Coba lagi", ""),
                    ("skip", "Lewati", "danger")),
    Status.FAILED: (("retry", "Coba lagi", "primary"), ("publish", "Terbitkan sekarang", ""),
                    ("skip", "Lewati", "danger")),
    Status.SKIPPED: (("retry", "Kembalikan ke antrean", "primary"),),
    Status.PUBLISHING: (("retry", "Periksa unggahan", ""),),
    Status.EXPIRED: (("skip", "Lewati", "danger"),),
    Status.SEEN: (),
    Status.FILTERED: (),
    Status.POSTED: (),
}

FOLLOWUP_KINDS: dict[str, str] = {"correction": "Ralat", "takedown": "Artikel diturunkan"}
