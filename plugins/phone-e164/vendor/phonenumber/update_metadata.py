"""Writes the validation data of a newer libphonenumber release into
assets/PhoneNumberMetadata.xml, taken from the Python port `phonenumbers`.

    pip download --no-deps phonenumbers==9.0.35  # the XML's release
    pip download --no-deps phonenumbers==9.0.43  # the wanted one
    unzip phonenumbers-9.0.35-*.whl -d /tmp/pn35
    unzip phonenumbers-9.0.43-*.whl -d /tmp/pn
    python3 update_metadata.py assets/PhoneNumberMetadata.xml

Only regions and number types whose data differ between the two Python
releases are touched, so the rest of the XML stays as libphonenumber wrote
it. See PATCHES.md.
"""
import re
import sys

OLD, NEW = "/tmp/pn35", "/tmp/pn"


def load(root):
    sys.path.insert(0, root)
    for m in list(sys.modules):
        if m.startswith("phonenumbers"):
            del sys.modules[m]
    import phonenumbers
    from phonenumbers.phonemetadata import PhoneMetadata

    out = {r: PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS}
    sys.path.pop(0)
    return out


old, new = load(OLD), load(NEW)
TAG={'general_desc':'generalDesc','fixed_line':'fixedLine','mobile':'mobile','toll_free':'tollFree','premium_rate':'premiumRate','shared_cost':'sharedCost','personal_number':'personalNumber','voip':'voip','pager':'pager','uan':'uan','voicemail':'voicemail','no_international_dialling':'noInternationalDialling'}
path=sys.argv[1]
xml=open(path).read()
def lengths(t):
    return ",".join(str(x) for x in t)
changed=[]
for r in sorted(new):
    a,b=old[r],new[r]
    m=re.search(r'<territory id="%s"[\s\S]*?</territory>' % r, xml)
    assert m, r
    block=m.group(0); orig=block
    for f,tag in TAG.items():
        da,db=getattr(a,f),getattr(b,f)
        ta=(da.national_number_pattern,da.possible_length,da.possible_length_local_only) if da else None
        tb=(db.national_number_pattern,db.possible_length,db.possible_length_local_only) if db else None
        if ta==tb: continue
        em=re.search(r'( *)<%s>[\s\S]*?</%s>\n' % (tag,tag), block)
        if db is None or not db.national_number_pattern:
            assert em, (r,tag)
            block=block.replace(em.group(0),''); changed.append((r,tag,'removed')); continue
        assert em, (r, tag, 'missing')
        el=em.group(0); ind=em.group(1)
        el2=re.sub(r'<nationalNumberPattern>[\s\S]*?</nationalNumberPattern>',
                   lambda _: '<nationalNumberPattern>%s</nationalNumberPattern>' % db.national_number_pattern, el)
        if tag!='generalDesc':
            pl='<possibleLengths national="%s"' % lengths(db.possible_length)
            if db.possible_length_local_only: pl+=' localOnly="%s"' % lengths(db.possible_length_local_only)
            pl+='/>'
            el2,n=re.subn(r'<possibleLengths[^>]*/>', lambda _: pl, el2)
            assert n==1,(r,tag)
            if db.example_number:
                el2=re.sub(r'<exampleNumber>[^<]*</exampleNumber>', lambda _: '<exampleNumber>%s</exampleNumber>'%db.example_number, el2)
        block=block.replace(el,el2); changed.append((r,tag,'pattern'))
    if a.international_prefix!=b.international_prefix:
        block=block.replace('internationalPrefix="%s"'%a.international_prefix,'internationalPrefix="%s"'%b.international_prefix,1); changed.append((r,'internationalPrefix',''))
    if a.leading_digits!=b.leading_digits:
        block=block.replace('leadingDigits="%s"'%a.leading_digits,'leadingDigits="%s"'%b.leading_digits,1); changed.append((r,'leadingDigits',''))
    xml=xml.replace(orig,block)
open(path,'w').write(xml)
print(len(changed), "changes")
