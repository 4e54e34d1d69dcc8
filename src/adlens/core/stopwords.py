"""English function words: tokens that carry no topic, whatever the finetune."""

STOPWORDS = frozenset(
    """
    a about above after again against all almost along also although always am among an and
    another any are around as at away back be because been before being below between both but
    by came can cannot come could did do does doing done down during each either else enough
    even ever every few first for from further get gets getting give given go goes going gone
    got had has have having he her here hers herself him himself his how however i if in into
    is it its itself just last least less let like made make makes many may me might more most
    much must my myself near never new next no nor not now of off often on once one only onto
    or other others our ours ourselves out over own per put quite rather really said same say
    says see seem seemed seems several shall she should since so some something sometimes
    still such take than that the their theirs them themselves then there these they thing
    things this those though three through thus to too took two under until up upon us used
    very was way we well went were what whatever when where whether which while who whom whose
    why will with within without would yet you your yours yourself yourselves year years time
    times day days people man men part per
    """.split()
)
