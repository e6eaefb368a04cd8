"""A labeled stream of tech headlines for bench/relevance_bench.py: 30 days, on the beat or not.

The beat is tech accountability (regulators, fines, lawsuits, children online, surveillance,
spyware, app-store rules, platform power). About one entry in fourteen is on it. Each on-beat
story comes either in the words topics are written with ("antitrust", "child safety",
"surveillance") or in the words reporters often use instead ("watchdog fines TikTok over
teenagers' accounts"), which keyword topics miss. Off-beat entries share the beat's names and
words (the same companies' product news; "monopoly" the board game, dog "grooming", a "merger" of
game studios, a phone's "facial recognition" unlock): the traps a keyword topic falls into.

Generated from templates with a seeded generator: the same seed, the same stream. Every slot has
several fillers and every story several wordings, so no one word gives the label away.

    .venv/bin/python bench/relevance_stream.py > stream.tsv     # day, source, label, title, summary
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass

COMPANIES = ["Meta", "TikTok", "Google", "Apple", "Amazon", "Snap", "Discord", "Roblox", "X",
             "Microsoft", "Uber", "Instagram", "YouTube", "Telegram", "Reddit", "OpenAI",
             "Nvidia", "Temu", "Shein", "Spotify", "Netflix", "Tesla", "Character.AI", "Twitch"]
SOCIAL = ["TikTok", "Instagram", "Snapchat", "YouTube", "Roblox", "Discord", "Facebook",
          "Character.AI", "Twitch", "Reddit"]
REGULATORS = ["Ireland's data protection commission", "the EU Commission", "France's CNIL",
              "the UK's ICO", "Ofcom", "the Dutch privacy watchdog", "Italy's Garante",
              "South Korea's privacy regulator", "Brazil's consumer agency", "Australia's eSafety "
              "commissioner", "the Competition and Markets Authority", "Germany's cartel office",
              "Japan's fair trade commission", "India's competition regulator"]
REG_SHORT = ["Regulator", "Watchdog", "EU", "Brussels", "Privacy watchdog", "Data regulator",
             "Competition watchdog", "Consumer agency"]
STATES = ["Texas", "California", "New Mexico", "Utah", "Arkansas", "Florida", "New York",
          "Massachusetts", "Washington", "Indiana", "Nevada", "Minnesota", "Vermont", "Ohio"]
KIDS = ["teenagers", "children", "minors", "young users", "under-16s", "kids", "schoolchildren",
        "teens"]
DATA = ["location data", "voice recordings", "browsing histories", "health data", "contact lists",
        "biometric data", "private messages", "search histories", "faceprints"]
AMOUNTS = ["€345m", "€1.2bn", "$5bn", "£12.7m", "€91m", "$2.5bn", "€405m", "$1.4bn", "€8m",
           "$520m", "£7.5m", "€251m", "$725m", "€310m"]
VENDORS = ["NSO Group", "Intellexa", "Paragon", "Candiru", "Cytrox", "a little-known Israeli firm",
           "an Italian surveillance vendor", "a Spanish hacking-tool maker"]
TARGETS = ["journalists", "activists", "opposition politicians", "lawyers", "dissidents abroad",
           "a newspaper editor", "human rights workers", "EU officials"]
POLICE = ["Police", "Sheriffs", "Federal agents", "Immigration officers", "Detectives",
          "City police", "ICE agents", "Border agents"]
TOOLS = ["doorbell videos", "license plate readers", "phone location records", "smart speaker "
         "recordings", "period-tracking app data", "ride-share trip logs", "cloud photo backups",
         "car location histories", "fitness tracker data"]
WORKERS = ["delivery drivers", "warehouse workers", "content moderators", "gig workers",
           "ride-hail drivers", "data labelers"]
PRODUCTS = ["phone", "headset", "smart glasses", "laptop", "tablet", "watch", "earbuds",
            "camera", "console", "speaker", "e-reader", "router"]
GAMES = ["shooter", "racing game", "open-world RPG", "puzzle game", "strategy game",
         "football sim", "survival game", "platformer"]
STUDIOS = ["Ubisoft", "Embracer", "Take-Two", "Bandai Namco", "Square Enix", "CD Projekt",
           "Paradox", "Remedy", "Devolver", "Sega"]
CITIES = ["Austin", "Berlin", "Lagos", "Seoul", "Lisbon", "Toronto", "Nairobi", "Osaka",
          "Denver", "Dublin", "Warsaw", "Manila"]
VERB_FINE = ["fines", "slaps", "hits", "orders", "penalises", "sanctions"]
VERB_SUE = ["sues", "takes to court", "files suit against", "launches legal action against",
            "brings a case against"]
SOURCES_BEAT = ["The Verge", "Wired", "Ars Technica", "The Guardian Tech", "TechCrunch",
                "Reuters Tech", "404 Media", "The Markup", "Rest of World", "Politico Tech"]
SOURCES_OFF = ["Gadget Digest", "GameBeat", "Engadget", "9to5Daily", "The Verge", "Wired",
               "TechCrunch", "Reuters Tech", "The Guardian Tech", "Ars Technica"]


def _pick(rng: random.Random, items: list[str]) -> str:
    return items[rng.randrange(len(items))]


def _fill(rng: random.Random, text: str) -> str:
    slots = {"co": COMPANIES, "social": SOCIAL, "reg": REGULATORS, "regs": REG_SHORT,
             "state": STATES, "kids": KIDS, "data": DATA, "amt": AMOUNTS, "vendor": VENDORS,
             "target": TARGETS, "police": POLICE, "tool": TOOLS, "workers": WORKERS,
             "product": PRODUCTS, "game": GAMES, "studio": STUDIOS, "studio2": STUDIOS,
             "city": CITIES, "fine": VERB_FINE, "sue": VERB_SUE, "co2": COMPANIES}
    out = text
    for name, items in slots.items():
        while "{" + name + "}" in out:
            out = out.replace("{" + name + "}", _pick(rng, items), 1)
    return out


# Each story: (title wordings in the topics' words, title wordings in other words, summaries).
# The first list's titles carry a term the shipped topics use; the second's do not.
BEAT: list[tuple[list[str], list[str], list[str]]] = [
    (["{reg} opens antitrust probe into {co}'s app store rules",
      "{co} accused of anticompetitive app store fees",
      "Antitrust regulators target {co}'s payment rules for developers"],
     ["{regs} orders {co} to let developers link to cheaper payments",
      "{co} must open its store to rival payment systems, {regs} rules",
      "Developers win right to steer users around {co}'s 30% cut"],
     ["Developers have complained for years about the commission {co} charges.",
      "The decision could force changes to how {co} takes a cut of in-app purchases.",
      "Rivals say the rules lock users in and raise prices."]),
    (["{state} attorney general sues {social} over child safety failures",
      "{state} lawsuit says {social} ignored child safety warnings"],
     ["{state} {sue} {social}, saying it was built to hook {kids}",
      "States say {social} was designed to keep {kids} scrolling",
      "{state} attorney general says {social} let predators reach {kids}",
      "Lawsuit: {social} knew its feed harmed {kids}' mental health"],
     ["The complaint cites internal documents about compulsive use among {kids}.",
      "Prosecutors say the company misled parents about the risks.",
      "The suit seeks penalties and changes to how the app recommends content."]),
    (["{reg} fines {social} over {kids}'s data in child safety case",
      "{social} hit with privacy fine over {kids}'s accounts"],
     ["{regs} {fine} {social} {amt} over {kids}'s accounts",
      "{social} {amt} penalty over how it handled {kids}'s data",
      "{regs} {fine} {co} {amt} for mishandling {data}",
      "{co} to pay {amt} after regulator finds it kept {data} too long"],
     ["The regulator found accounts were public by default.",
      "It is one of the largest penalties under European data rules.",
      "The company said it would appeal and had already changed its settings."]),
    (["Age verification law for social media passes in {state}",
      "{social} rolls out age verification after Online Safety Act deadline"],
     ["{state} will require ID checks before {kids} can open social accounts",
      "Under-16s banned from {social} under new law, platforms given a year",
      "{social} starts scanning faces to guess users' ages",
      "Lawmakers pass bill forcing apps to check users' ages"],
     ["Civil liberties groups warn the checks will collect more personal data.",
      "Platforms have a year to comply or face fines.",
      "Critics say teenagers will simply borrow adults' IDs."]),
    (["Spyware from {vendor} found on phones of {target}",
      "Pegasus spyware used against {target}, researchers say"],
     ["Hacking tool sold by {vendor} found on {target}'s phones",
      "{target} targeted with zero-click exploit, Citizen Lab says",
      "{co} warns users they were targeted by state-backed hackers",
      "Government hacked {target} with mercenary phone exploit, report finds"],
     ["Researchers traced the infection to a server run by the vendor's customer.",
      "The exploit needed no click from the victim.",
      "The vendor says it sells only to governments for fighting crime."]),
    (["{police} used {tool} without a warrant, records show",
      "Warrantless searches of {tool} by {police} revealed"],
     ["{police} obtained {tool} without asking owners",
      "{co} handed {tool} to {police} in hundreds of cases",
      "{police} bought {data} from brokers instead of getting court orders",
      "Documents show {police} tapped {tool} to track protesters"],
     ["The records were obtained through a public records request.",
      "Privacy advocates say the practice sidesteps the courts.",
      "The company said it complies with valid legal process."]),
    (["Section 230 shield tested as {social} faces design defect suit",
      "Supreme Court weighs Section 230 in case against {co}"],
     ["Judge lets families' lawsuit against {social} over addictive design proceed",
      "Court says {co} can be held liable for its recommendation algorithm",
      "{co} loses bid to dismiss case over videos its algorithm promoted"],
     ["The ruling narrows the legal immunity platforms rely on.",
      "Families say the app's design, not users' posts, caused the harm.",
      "The company argued it is protected as a publisher of others' content."]),
    (["Data broker sold location data of {kids}, FTC says",
      "FTC bans data broker from selling location data"],
     ["Company sold {data} of millions without consent, complaint says",
      "Broker's dataset reveals visits to clinics and places of worship",
      "{co} shared {data} with advertisers, investigation finds"],
     ["The data could be tied to individuals' homes.",
      "Regulators say consumers never agreed to the sale.",
      "The firm must delete the data it collected."]),
    (["Facial recognition firm ordered to delete faces in privacy ruling",
      "Police facial recognition use faces surveillance ban in {city}"],
     ["Clearview AI ordered to delete residents' photos",
      "{city} bans police from using face-matching software",
      "Wrongful arrest blamed on face-matching system, lawsuit says",
      "Shops scanning shoppers' faces face regulator scrutiny"],
     ["The system misidentified the man, his lawyers say.",
      "The regulator said the images were collected unlawfully.",
      "Councillors voted after a campaign by local residents."]),
    (["Content moderation cuts at {co} leave hate speech up, transparency report shows",
      "Digital Services Act probe opens into {co}'s content moderation"],
     ["{regs} opens formal proceedings against {co} over illegal content",
      "{co}'s fact-checkers quietly cut ahead of election",
      "Moderators say {co} left violent posts up for days",
      "EU demands {co} explain how it handles election disinformation"],
     ["Researchers found reported posts stayed online for weeks.",
      "The company says automated systems catch most violations.",
      "The probe could lead to fines of up to 6% of global turnover."]),
    (["{co} workers allege surveillance by monitoring software",
      "Antitrust suit says {co} algorithm fixed {workers}' pay"],
     ["{workers} say opaque algorithm cut their pay overnight",
      "{co} fired {workers} by automated email, inquiry hears",
      "Union says {co} tracks {workers}' every minute",
      "{workers} sue {co} over deactivations without explanation"],
     ["Workers say they cannot appeal decisions made by software.",
      "Drivers say the pay formula is a black box.",
      "Labour regulators are examining the company's practices.",
      "The company says its systems are fair and audited."]),
    (["FTC sues {co} over monopoly in online advertising",
      "Justice Department antitrust trial against {co} opens"],
     ["{co} abused its dominance in search, judge rules",
      "Judge orders {co} to sell off part of its ad business",
      "Government says {co} illegally crushed smaller rivals",
      "{co} paid billions to be the default, court hears"],
     ["The ruling could reshape the market.",
      "The company plans to appeal.",
      "Prosecutors say the deals shut rivals out."]),
    (["Child sexual abuse material spread on {social}, investigation finds",
      "Sextortion cases involving {social} surge, NCMEC says"],
     ["Predators used {social} to contact {kids}, lawsuit alleges",
      "{social} failed to act on reports of men messaging {kids}",
      "Teen's death after blackmail scam prompts calls to change {social}",
      "{social} accounts selling explicit images of {kids} stayed up for months"],
     ["Parents say reports to the platform went unanswered.",
      "Investigators say the scammers targeted boys.",
      "The company says it removes such accounts and works with police."]),
    (["Senators press {co} over data shared with {police}",
      "Lawmakers demand answers from {co} on surveillance of {target}"],
     ["Senators ask {co} why it kept {data} it promised to delete",
      "{co} insiders say leaders ignored warnings about {kids}",
      "Whistleblower tells Congress {co} buried research on harms to {kids}",
      "Leaked memo shows {co} knew {data} could identify users"],
     ["The documents were shared with lawmakers last month.",
      "The company disputed the characterisation of its research.",
      "Lawmakers said they would call executives to testify."]),
    (["{co} chatbot gave {kids} harmful advice, child safety groups say",
      "AI companion app faces child safety lawsuit"],
     ["Parents sue {co} after chatbot encouraged teen's self-harm",
      "{co}'s AI assistant told users it was a licensed therapist",
      "Chatbot maker sued over conversations with a 14-year-old",
      "{co} quietly changed AI rules after teen's death"],
     ["The family says the company knew the bot could mislead young users.",
      "Experts say the products were released without safeguards.",
      "The company says it has added new protections for minors."]),
]

OFF: list[tuple[list[str], list[str]]] = [
    (["{co} unveils new {product} with longer battery life",
      "Hands-on: {co}'s new {product} is lighter and faster",
      "{co} {product} review: a solid upgrade",
      "{co} launches cheaper {product} for students"],
     ["The device goes on sale next month.", "Reviewers praised the screen.",
      "It comes in three colours and starts at $299."]),
    (["{co} shares jump after strong quarterly results",
      "{co} beats earnings forecasts on cloud growth",
      "{co} to cut 1,000 jobs in restructuring",
      "{co} names new chief financial officer"],
     ["Revenue rose 12% from a year earlier.", "Investors cheered the guidance.",
      "The company said costs would fall next year."]),
    (["{studio} announces {game} sequel for next year",
      "{studio} and {studio2} agree merger to form gaming giant",
      "Review: {studio}'s new {game} is a beautiful mess",
      "{studio} delays {game} to polish multiplayer"],
     ["Fans have waited five years for the follow-up.",
      "The combined company will own dozens of franchises.",
      "Pre-orders open this week."]),
    (["{co} releases new AI model that writes code",
      "{co} adds AI summaries to its {product}",
      "{co} says its new model beats rivals on reasoning tests",
      "Startup raises $40m to build AI agents for accountants"],
     ["The model is available to paying subscribers first.",
      "Developers can try it through an API.", "Benchmarks show gains in maths."]),
    (["How to turn on end-to-end encryption in your messaging app",
      "Best password managers for families this year",
      "Your {product} has a hidden privacy setting worth turning on",
      "The best parental controls apps, tested"],
     ["Here is a step-by-step guide.", "We tested eight options over a month.",
      "Most take a few minutes to set up."]),
    (["{co} {product} adds facial recognition unlock",
      "Hands-on with {co}'s new {product} camera and its face unlock",
      "{co} brings Face ID-style login to {product}"],
     ["The feature works in low light.", "Setup takes under a minute.",
      "It ships with the next software update."]),
    (["Monopoly gets a new edition for its 90th birthday",
      "Dog grooming app raises seed round",
      "Film review: a child actor steals the show",
      "{city} traffic app cuts commute times, city says",
      "Wildlife trafficking documentary wins festival prize",
      "Basketball league's oversight board clears referee",
      "Pegasus rocket launches weather satellite",
      "Extended warranty scam calls: how to spot them",
      "Court rules on {city} stadium naming rights"],
     ["Reviewers were charmed.", "The city plans to expand it.",
      "The festival runs until Sunday."]),
    (["{co} opens new office in {city}",
      "{co} expands {product} sales to {city}",
      "{city} startup scene booms as {co} hires locally",
      "{co} hosts developer conference in {city}"],
     ["The office will employ 500 people.", "Local officials welcomed the move.",
      "Tickets sold out in hours."]),
    (["Scientists map a new deep-sea ecosystem",
      "Heatwave breaks records across {city}",
      "New battery chemistry promises cheaper electric cars",
      "Astronomers spot an unusual exoplanet"],
     ["The study appears in Nature.", "Researchers say more work is needed.",
      "The findings surprised the team."]),
    (["{co} wins patent case against {co2}",
      "{co} to pay {amt} to settle patent dispute with {co2}",
      "Court sides with {co} in trademark fight over logo",
      "{co} settles shareholder lawsuit over missed forecasts",
      "{state} offers tax breaks to lure {co} data center",
      "Judge dismisses {co2}'s contract claim against {co}",
      "{regs} clears {studio}'s takeover of {studio2}",
      "{co} faces lawsuit from former landlord over {city} office"],
     ["The case turned on a single claim in the patent.",
      "Lawyers for both sides declined to comment.",
      "The settlement does not include an admission of wrongdoing.",
      "Officials said the deal would bring hundreds of jobs."]),
    (["Best {product}s for kids this holiday season",
      "{social} launches back-to-school campaign for students",
      "Study: {kids} spend more time gaming than reading",
      "{co} gives free {product}s to schools in {city}",
      "Teen coders win {co}'s national app challenge",
      "{social} star's new show is a hit with {kids}"],
     ["Parents can pre-order from this week.",
      "The survey covered 3,000 families.",
      "The programme runs for a year.",
      "Teachers say the devices help in class."]),
    (["{police} in {city} get new {product}s for patrol cars",
      "{city} police launch app to report potholes",
      "Detective drama set in {city} tops streaming charts",
      "{co} hires former police chief as head of security"],
     ["The rollout finishes next month.", "Residents can download it today.",
      "Critics loved the lead performance."]),
    (["{co} app store adds new search ads for developers",
      "{co} updates app store design with new tabs",
      "{co} app store awards name best {game} of the year"],
     ["Developers can buy placements from next month.", "The redesign rolls out worldwide.",
      "Winners were chosen by the editorial team."]),
    (["{co} launches kids' {product} with parental controls",
      "Review: {co}'s tablet for children is sturdy and cheap",
      "{social} adds new stickers and filters for teens"],
     ["It comes with a rubber case.", "The filters are available today.",
      "A subscription unlocks more content."]),
    (["{social} rolls out new video editing tools",
      "{social} tests longer videos for creators",
      "{co} adds group calls to {product}",
      "{social} creator fund pays out record sums"],
     ["Creators can now trim clips in the app.", "The test runs in a few countries.",
      "The feature reaches all users next week."]),
    (["Security update fixes {co} {product} bug",
      "{co} patches zero-day exploited in the wild",
      "Ransomware gang hits {city} hospital",
      "Millions of {product}s vulnerable to Bluetooth flaw"],
     ["Users should update now.", "The flaw was reported by researchers.",
      "Systems are being restored."]),
]


# Sentences any story may carry: regulators, courts, children and data appear off the beat too.
SHARED = [
    "The company said it takes privacy seriously.",
    "Regulators have not commented.",
    "Parents' groups welcomed the news.",
    "The {state} attorney general's office is reviewing the announcement.",
    "A court date has not been set.",
    "{co} said users' data stays on the device.",
    "Analysts expect regulators to look at the deal.",
    "It is the company's biggest launch since its legal troubles last year.",
    "Teenagers are the app's fastest-growing audience.",
    "The feature will come to Europe later because of local rules.",
]


@dataclass(frozen=True)
class Item:
    day: int
    source: str
    label: int  # 1: the editor features it (on the beat, mostly; editors have their taste)
    title: str
    summary: str
    standard: bool  # on the beat, worded with the topics' usual terms
    beat: bool = False  # on the beat (the editor passes on about one in twelve of these)


def stream(days: int = 30, per_day: int = 160, beat_share: float = 0.07, seed: int = 13
           ) -> Iterator[Item]:
    """The labeled stream, day by day."""
    rng = random.Random(seed)
    for day in range(days):
        n = per_day + rng.randint(-25, 25)
        for _ in range(n):
            if rng.random() < beat_share:
                standard_titles, other_titles, summaries = BEAT[rng.randrange(len(BEAT))]
                standard = rng.random() < 0.55
                title = _fill(rng, _pick(rng, standard_titles if standard else other_titles))
                summary = _fill(rng, _pick(rng, summaries))
                source = _pick(rng, SOURCES_BEAT)
                if rng.random() < 0.5:  # a second sentence from another story of the beat
                    summary += " " + _fill(rng, _pick(rng, BEAT[rng.randrange(len(BEAT))][2]))
                # An editor passes on some stories of the beat (covered already, minor, a
                # source they distrust) and features the odd one off it: a label no model can
                # fully learn, as in a real queue.
                yield Item(day, source, int(rng.random() >= 0.08), title, summary, standard, True)
            else:
                titles, summaries = OFF[rng.randrange(len(OFF))]
                title = _fill(rng, _pick(rng, titles))
                summary = _fill(rng, _pick(rng, summaries))
                if rng.random() < 0.5:  # off-beat stories borrow the beat's words too
                    summary += " " + _fill(rng, _pick(rng, SHARED))
                yield Item(day, _pick(rng, SOURCES_OFF), int(rng.random() < 0.01), title, summary,
                           False)


def main() -> None:
    for it in stream():
        sys.stdout.write(f"{it.day}\t{it.source}\t{it.label}\t{int(it.beat)}\t{it.title}\t"
                         f"{it.summary}\n")


if __name__ == "__main__":
    main()
